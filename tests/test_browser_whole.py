"""The Automaton and Dynamics tabs in a real browser, on the shipped grammar GRU: the automaton graph has the
grammar's 11 states (read from the Bokeh model), the verdict says so, and a click on a heatmap column rings
that step's state; the projection draws its held-out states and the fixed points, one of which, hovered,
shows its eigenvalues. Screenshots of both tabs at 1024x768 and 1400x900. No console error, no server error,
nothing fetched from outside."""
from __future__ import annotations

import pytest
from browser_fixtures import screenshot
from browser_pages import DATA_AT, TOOLTIP_TEXT

from rnnscope.app.drawing.projection_plot import MAX_CLOUD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRAPH = """() => {
  const models = [...Bokeh.documents[0]._all_models.values()];
  const g = models.find(m => m.type === "GraphRenderer");
  const fig = models.find(m => m.type === "Figure" && m.renderers.includes(g));
  const lit = fig && fig.renderers.find(r => r.name === "lit");
  return g ? {nodes: g.node_renderer.data_source.data.index.length, lit: lit.data_source.data.x.length} : null;
}"""
# The held-out states drawn, and the fixed and slow points (a source with eigenvalues in words).
PROJECTION = """() => {
  const models = [...Bokeh.documents[0]._all_models.values()];
  const cloud = models.find(m => m.data && m.data.value !== undefined && m.data.colour !== undefined);
  const points = models.find(m => m.data && m.data.eigenvalues !== undefined);
  return {cloud: cloud ? cloud.data.x.length : 0, points: points ? points.data.x.length : 0};
}"""
# The fixed point farthest from every other point, so that hovering it finds it alone among the points.
LONELY_FIXED_POINT = """() => {
  const d = [...Bokeh.documents[0]._all_models.values()].find(m => m.data && m.data.eigenvalues !== undefined).data;
  let best = -1, far = -1;
  for (let i = 0; i < d.x.length; i++) {
    if (d.kind[i] !== "fixed") continue;
    let near = Infinity;
    for (let j = 0; j < d.x.length; j++)
      if (j !== i) near = Math.min(near, Math.hypot(d.x[i] - d.x[j], d.y[i] - d.y[j]));
    if (near > far) { far = near; best = i; }
  }
  return [d.x[best], d.y[best], d.eigenvalues[best]];
}"""


def shots(app, name: str, title: str) -> None:
    """The tab at 1024x768 and 1400x900, its plot (the figure whose title starts with ``title``) in the
    middle of the view."""
    page = app.page
    for width, height in ((1024, 768), (1400, 900)):
        page.set_viewport_size({"width": width, "height": height})
        app.settle()
        page.evaluate(DATA_AT, [title, 0, 0])               # scrolls the plot into the middle of the view
        page.mouse.move(5, 5)
        app.settle()
        screenshot(page, f"{name}-{width}x{height}")
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_automaton_and_dynamics_tabs(app):
    page = app.page
    page.locator(".bk-tab").filter(has_text="Automaton").click()
    page.get_by_text("Equivalent to the grammar's minimal DFA: 11 states").wait_for(state="visible")
    page.wait_for_function(f"() => ({GRAPH})() && ({GRAPH})().nodes === 11")
    assert page.evaluate(GRAPH) == {"nodes": 11, "lit": 0}
    at = page.evaluate(DATA_AT, ["", 10, None])                 # a click on the heatmap's column 10
    page.mouse.click(at["x"], at["y"])
    page.wait_for_function(f"() => ({GRAPH})().lit === 1")
    shots(app, "20-automaton-tab", "the automaton")

    page.locator(".bk-tab").filter(has_text="Dynamics").click()
    page.wait_for_function(f"() => ({PROJECTION})().cloud === {MAX_CLOUD}")
    page.wait_for_function(f"() => ({PROJECTION})().points > 0")       # the fixed points, searched off the thread
    page.get_by_text("fixed points", exact=False).first.wait_for(state="visible")
    x, y, eigenvalues = page.evaluate(LONELY_FIXED_POINT)
    at = page.evaluate(DATA_AT, ["held-out states", x, y])
    page.mouse.move(at["x"], at["y"])
    page.wait_for_function(f"() => ({TOOLTIP_TEXT})().includes('eigenvalues')", timeout=10_000)
    tip = page.evaluate(TOOLTIP_TEXT)
    assert eigenvalues in tip and "stability" in tip and "slowest time constant" in tip
    shots(app, "21-dynamics-tab", "held-out states")
    app.check()

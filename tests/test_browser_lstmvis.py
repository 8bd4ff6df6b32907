"""An LSTMVis directory opened in a real browser (`serve.py --lstmvis DIR`, Debian's Chromium): the
heatmap is drawn -- its image is the file's states in Bokeh's document and its canvas is not blank --
with the meta tracks under it, the tools that need a model absent, the Cells tab's table within its tab
(a long label wraps), and no console error, warning or request leaving the machine. One page load, all
checks on it."""
from __future__ import annotations

import os
import sys

import h5py
import numpy as np
import pytest
import yaml
from browser_fixtures import assert_one_table_fits, log_problems, new_context, screenshot, served, watch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_IMAGE = """() => {
  const src = [...Bokeh.documents[0]._all_models.values()].find(m => m.data && m.data.image !== undefined
                                                                && m.data.dw !== undefined);
  if (!src || !src.data.image.length) return null;
  const a = src.data.image[0];
  return {shape: Array.from(a.shape), values: Array.from(a)};
}"""
_META = """() => {
  const src = [...Bokeh.documents[0]._all_models.values()].find(m => m.data && m.data.mood !== undefined);
  return src ? Array.from(src.data.mood) : null;
}"""
# Distinct colours over every canvas of the page (browser_pages.CANVAS_COLOURS reads one element's, and polling it
# over the whole page reads each canvas twice, which Chromium warns about).
_CANVAS_COLOURS = """() => {
  let best = 0;
  const walk = root => { for (const el of root.querySelectorAll("*")) { if (el.shadowRoot) walk(el.shadowRoot);
    if (el.tagName === "CANVAS" && el.width * el.height > 0) {
      const d = el.getContext("2d").getImageData(0, 0, el.width, el.height).data, seen = new Set();
      for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      best = Math.max(best, seen.size); } } };
  walk(document);
  return best;
}"""


@pytest.fixture(scope="module")
def lstmvis_server(tmp_path_factory):
    """serve.py --lstmvis on a hand-made LSTMVis directory (states through LSTMVis's default tanh, a scalar
    meta track and a categorical one), up for this module; its log copied to test-results/ at the end."""
    d = tmp_path_factory.mktemp("lv") / "project"
    d.mkdir()
    rng = np.random.default_rng(0)
    T, text = 120, ("ab (cd) " * 15)
    states = rng.normal(size=(T, 6)).astype(np.float32)
    aside = (np.arange(T) // 8) % 2          # a categorical meta track with long names, and a cell that follows it:
    states[:, 0] = np.where(aside == 1, 2.0, -2.0)     # its label in the Cells tab is long
    vocab = sorted(set(text))
    with h5py.File(d / "states.h5", "w") as f:
        f.create_dataset("l1", data=states)
        f.create_dataset("ids", data=np.array([vocab.index(c) + 1 for c in text], np.int64))
        f.create_dataset("mood", data=np.linspace(0, 1, T))
        f.create_dataset("aside", data=aside)
    (d / "chars.dict").write_text("".join(f"{c if c != ' ' else ''} {i + 1}\n" for i, c in enumerate(vocab)))
    (d / "aside.dict").write_text("outside-every-parenthetical-aside-of-the-text 0\n"
                                  "inside-a-parenthetical-aside-of-the-text 1\n")
    (d / "lstm.yml").write_text(yaml.safe_dump({
        "name": "browser", "files": {"s": "states.h5", "dict": "chars.dict", "aside_dict": "aside.dict"},
        "word_sequence": {"file": "s", "path": "ids", "dict_file": "dict"},
        "states": {"file": "s", "types": [{"type": "state", "layer": 1, "path": "l1"}]},
        "meta": {"mood": {"file": "s", "path": "mood", "vis": {"type": "scalar", "range": [0, 1]}},
                 "aside": {"file": "s", "path": "aside", "dict": "aside_dict",
                           "vis": {"type": "discrete", "range": "dict"}}}}))
    log_path = tmp_path_factory.mktemp("lv-log") / "browser-lstmvis-server.log"
    with served([sys.executable, "serve.py", "--lstmvis", str(d)], log_path, dict(os.environ), "app") as server:
        yield server.url, states, log_path


def test_an_lstmvis_directory_opens_with_its_heatmap_and_meta_track(lstmvis_server, chromium):  # noqa: F811
    url, states, log_path = lstmvis_server
    context = new_context(chromium)
    page = context.new_page()
    app = watch(context, page)
    try:
        page.goto(url)
        page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length && ({_IMAGE})() !== null")
        image = page.evaluate(_IMAGE)
        assert image["shape"] == [6, 100]                # 6 cells x the first 100 steps
        drawn = np.array(image["values"], np.float32).reshape(6, 100)[::-1]
        assert np.allclose(drawn, np.tanh(states[:100]).T, atol=1e-6)
        assert np.allclose(page.evaluate(_META), np.linspace(0, 1, 120)[:100])
        page.wait_for_function(f"() => ({_CANVAS_COLOURS})() > 20")     # the heatmap's canvas is painted
        tabs = [t.strip() for t in page.locator(".bk-tab").all_inner_texts()]
        assert tabs == ["About", "Cells", "Match"]
        page.get_by_text("there are no weights").wait_for(state="visible")
        screenshot(page, "lstmvis-page", full_page=True)
        page.locator(".bk-tab").filter(has_text="Cells").click()      # the labels table fits its tab, titles whole
        page.get_by_text("outside-every-parenthetical-aside-of-the-text").first.wait_for(state="visible")
        assert_one_table_fits(page)                          # the table fits its tab, titles whole
        screenshot(page, "lstmvis-cells")
        assert app.console_warnings == [], f"console warnings: {app.console_warnings}"
        app.assert_clean()
        assert log_problems(log_path.read_text()) == []
    finally:
        context.close()

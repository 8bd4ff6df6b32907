"""The Ablation tab: replace the picked cells after every step -- by 0, their held-out mean, or a
clamp value (models/reading/ablation.py) -- and see what moves on the sequence shown: the loss beside the
intact model's and the oracle's floor, p(next) ablated beside intact on the heatmap's x range, and
(grammar models) the share of SAMPLES samples the grammar accepts, intact beside ablated, drawn with
the same random numbers (analysis/intervene/ablation.py), with a few of the ablated ones. A second button
ranks every cell by the rise in held-out loss when it alone is mean-ablated.

The two experiments each have their own panel, with their own note: a ranking never lands under the
plot of cells ablated earlier, nor the other way round. The samples are text to be read, in the page's
own type (dark on light, 13 px), not a code block's small type on a dark box."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, Range1d
from bokeh.plotting import figure
from panel.viewable import Viewer

from rnnscope import grammar
from rnnscope.analysis.intervene.ablation import SHARE_CHARS as SAMPLE_CHARS
from rnnscope.analysis.intervene.ablation import SHARE_PRIME as SAMPLE_PRIME
from rnnscope.analysis.intervene.ablation import SHARE_SAMPLES as SAMPLES
from rnnscope.analysis.intervene.ablation import grammatical_shares
from rnnscope.models.reading.ablation import MODES, Ablation, loss_of, run_ablated
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache
from rnnscope.app.pages.state import AppState
from rnnscope.app.drawing.tracks import P_NEXT_COLOUR

SHOWN_SAMPLES, SHOWN_CHARS = 3, 120
SAMPLE_STYLE = ("font-family: monospace; font-size: 13px; line-height: 1.5; color: #212529; background: #f8f9fa; "
                "border: 1px solid #dee2e6; border-radius: 4px; padding: 6px 10px; white-space: pre-wrap; "
                "overflow-wrap: anywhere; margin: 4px 0")
PANEL_STYLE = {"border": "1px solid #dee2e6", "border-radius": "6px", "padding": "4px 10px"}


class AblationTab(Viewer):
    state = param.ClassSelector(class_=AppState)
    mode = param.Selector(default="mean", objects=list(MODES), label="Replace the picked cells by")
    value = param.Number(default=0.0, label="Clamp value")     # any number: nothing is clamped silently
    run = param.Event(label="Ablate the picked cells")
    rank = param.Event(label="Rank every cell (20,000 held-out chars)")

    def __init__(self, x_range: Range1d | None = None, **params):
        """``x_range``: the heatmap's, so the p(next) plot pans and zooms with it."""
        super().__init__(**params)
        self.result = pn.pane.Markdown("Pick cells (buttons in the sidebar or a heatmap row), then ablate them.",
                                       sizing_mode="stretch_width")
        self.samples = pn.pane.HTML("", sizing_mode="stretch_width")
        self.rank_note = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.source = ColumnDataSource({"x": [], "intact": [], "ablated": []})
        fig = figure(height=160, sizing_mode="stretch_width", x_range=x_range or Range1d(-0.5, 0.5), y_range=(0, 1.05),
                     tools="xpan,xwheel_zoom", toolbar_location=None, title="p(actual next character)")
        fig.line("x", "intact", source=self.source, color=P_NEXT_COLOUR, line_width=1.2, legend_label="intact")
        fig.line("x", "ablated", source=self.source, color="#e6550d", line_width=1.2, legend_label="ablated")
        fig.add_tools(HoverTool(tooltips=[("position", "@x{0,0}"), ("intact", "@intact{0.000}"),
                                          ("ablated", "@ablated{0.000}")], mode="vline"))
        fig.legend.location, fig.legend.orientation = "bottom_left", "horizontal"
        fig.visible = False
        self.plot = fig
        self.ranking = pn.widgets.Tabulator(pd.DataFrame(columns=["layer", "cell", "loss", "rise in loss"]),
                                            show_index=False, disabled=True, height=300, sizing_mode="stretch_width")
        # One panel per experiment, shown once it has run.
        self.picked_panel = pn.Column(pn.pane.Markdown("#### The picked cells, ablated"), self.result, self.plot,
                                      self.samples, visible=False, styles=PANEL_STYLE, sizing_mode="stretch_width")
        self.rank_panel = pn.Column(pn.pane.Markdown("#### Every cell ranked by ablation"), self.rank_note,
                                    self.ranking, visible=False, styles=PANEL_STYLE, sizing_mode="stretch_width")

    @param.depends("run", watch=True)
    def _ablate(self) -> None:
        s, tr = self.state, self.state.trace
        cells = tuple(s.selected)
        self.picked_panel.visible = True
        if not cells:
            self.result.object = "No cells picked: pick some in the sidebar (or click heatmap rows) first."
            return
        try:
            model = cache.load_model(s.model_path)
            means = cache.held_out_means(s.model_path, key=s.heldout_key) if self.mode == "mean" else None
            variants = [[], [Ablation(s.layer, cells, self.mode, self.value)]]
            probs = run_ablated(model, tr.text, variants, means)
            shares = grammatical_shares(model, s.grammar_spec, variants, means) if s.grammar_spec else None
        except RnnscopeError as e:
            self.result.object = f"Cannot ablate: {e}"
            return
        ids = model.vocab.encode(tr.text)
        intact, ablated = loss_of(probs, ids)
        spec = s.grammar_spec
        floor = ""
        if spec is not None:
            try:                      # a text outside the grammar has no floor
                floor = f"; the oracle's floor on this text {grammar.empirical_floor(tr.text, spec):.4f}"
            except grammar.GrammarError:
                pass
        how = {"zero": "0", "mean": "their held-out means", "clamp": f"{self.value:g}"}[self.mode]
        self.result.object = (f"Layer {s.layer}, cells {sorted(cells)} replaced by {how} after every step: loss "
                              f"**{ablated:.4f}** nats/char against {intact:.4f} intact "
                              f"({ablated - intact:+.4f}){floor}.")
        nxt = np.asarray(ids[1:])
        steps = np.arange(len(nxt))
        self.source.data = {"x": steps.astype(np.float32), "intact": probs[0, steps, nxt],
                            "ablated": probs[1, steps, nxt]}
        self.plot.visible = True
        self.samples.object = samples_note(shares)

    @param.depends("rank", watch=True)
    def _rank(self) -> None:
        self.rank_panel.visible = True
        try:
            intact, effects = cache.ablation_ranking(self.state.model_path, key=self.state.heldout_key)
        except RnnscopeError as e:
            self.rank_note.object = f"Cannot rank: {e}"
            self.ranking.visible = False
            return
        self.ranking.value = pd.DataFrame([{"layer": e.layer, "cell": e.cell, "loss": round(e.loss, 4),
                                            "rise in loss": round(e.delta, 4)} for e in effects])
        self.ranking.visible = True
        self.rank_note.object = (f"Every cell mean-ablated alone on the first 20,000 held-out characters "
                                 f"(intact loss {intact:.4f} nats/char), largest rise first.")

    def __panel__(self):
        # a FlexBox: the buttons wrap under the inputs where the tab is narrow (1024 px), not past its edge
        return pn.Column(pn.FlexBox(pn.widgets.Select.from_param(self.param.mode, width=200),
                                    pn.widgets.FloatInput.from_param(self.param.value, width=120),
                                    pn.widgets.Button.from_param(self.param.run, button_type="primary", align="end"),
                                    pn.widgets.Button.from_param(self.param.rank, align="end"),
                                    sizing_mode="stretch_width"),
                         self.picked_panel, self.rank_panel, sizing_mode="stretch_width")


def samples_note(shares) -> str:
    """The grammatical share intact beside ablated, and the first few ablated samples (HTML)."""
    if shares is None:
        return ("<p>No grammatical share: this model was trained on text, which has no grammar to validate "
                "samples against.</p>")
    intact, ablated = shares
    head = (f"<p><b>Grammatical samples: {sum(intact.grammatical)} of {SAMPLES} intact, {sum(ablated.grammatical)} of "
            f"{SAMPLES} ablated</b> ({SAMPLES} samples of {SAMPLE_CHARS} characters after "
            f"<code>{html.escape(SAMPLE_PRIME)}</code> each, temperature 1, from the zero state, the cells replaced "
            "after every step; sample i of both models draws the same random numbers; grammar/validate.py decides). "
            f"The first ablated samples (first {SHOWN_CHARS} characters of each):</p>")
    lines = []
    for text, ok in list(zip(ablated.texts, ablated.grammatical))[:SHOWN_SAMPLES]:
        cut = "\u2026" if len(text) > SHOWN_CHARS else ""           # the line says it goes on
        verdict = "grammatical" if ok else "not grammatical"
        lines.append(f"<div class='ablated-sample' style='{SAMPLE_STYLE}'><b>{verdict}</b>: "
                     f"{html.escape(text[:SHOWN_CHARS])}{cut}</div>")
    why = f"<p>First rejection: {html.escape(ablated.reasons[0])}.</p>" if ablated.reasons else ""
    return head + "".join(lines) + why

"""The Ablation tab keeps its two experiments apart and its samples readable: picked cells and the
ranking of every cell each in its own panel with its own note; the samples in the page's own type."""
from __future__ import annotations

import re

from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.ablation_tab import AblationTab


def test_ablating_then_ranking_keeps_each_experiment_in_its_own_panel(default_model):
    state = AppState(default_model)
    tab = AblationTab(state=state)
    assert not tab.picked_panel.visible and not tab.rank_panel.visible      # nothing run yet: nothing shown
    state.selected = [2]
    tab.param.trigger("run")
    ablated = tab.result.object
    assert ablated.startswith("Layer 0, cells [2] replaced by their held-out means")
    tab.param.trigger("rank")
    assert tab.picked_panel.visible and tab.rank_panel.visible
    assert tab.result.object == ablated                       # the first experiment's words stay its own
    assert tab.rank_note.object.startswith("Every cell mean-ablated alone") and tab.ranking.visible
    picked = [getattr(o, "object", o) if o.__class__.__name__ == "Bokeh" else o for o in tab.picked_panel.objects]
    assert any(o is tab.result for o in picked) and any(o is tab.plot for o in picked)
    assert any(o is tab.ranking for o in tab.rank_panel.objects) and not any(o is tab.ranking for o in picked)
    state.selected = [2, 11]
    tab.param.trigger("run")                                  # ablating again leaves the ranking where it is
    assert "cells [2, 11]" in tab.result.object and tab.rank_note.object.startswith("Every cell")


def test_the_samples_are_light_readable_text_not_a_dark_code_block(default_model):
    state = AppState(default_model)
    tab = AblationTab(state=state)
    state.selected = [2, 11]
    tab.mode = "zero"
    tab.param.trigger("run")
    shown = tab.samples.object
    assert "```" not in shown and "<pre" not in shown
    samples = re.findall(r"<div class='ablated-sample' style='([^']*)'><b>(grammatical|not grammatical)</b>: ", shown)
    assert len(samples) == 3
    style = samples[0][0]
    assert "font-size: 13px" in style and "color: #212529" in style and "background: #f8f9fa" in style

"""The Cells tab: labels of the shown view and layer on held-out data
read in context, a row click plots that cell, and a text model is labelled against text annotations."""
from __future__ import annotations


from rnnscope.app.tabs.cells import CellsTab
from rnnscope.app.pages.state import AppState
from rnnscope.models.network import checkpoint



class Click:
    def __init__(self, row: int):
        self.row = row


def test_the_tab_labels_every_cell_and_a_row_click_plots_it(default_model):
    state = AppState(default_model)
    tab = CellsTab(state=state)
    assert tab.table.value.empty                       # nothing computed until the tab is shown
    tab.open()
    table = tab.table.value
    assert sorted(table["cell"]) == list(range(15))
    depth4 = table[table["label"].str.startswith("\u22121.0 when depth \u2265 4")]
    assert len(depth4) == 1 and depth4["explained"].iloc[0] > 0.95
    row = int(depth4.index[0])
    tab._on_click(Click(row))
    assert state.selected == [int(depth4["cell"].iloc[0])]
    assert "read in context" in tab.note.object and len(tab.profiles.objects) == 2


def test_the_table_follows_the_view_and_layer(gru2_model):
    state = AppState(gru2_model)
    tab = CellsTab(state=state)
    tab.open()
    before = tab.table.value.copy()
    state.layer = 1
    assert "layer 1" in tab.note.object and not tab.table.value.equals(before)
    state.view = "z"
    assert "**z**" in tab.note.object


def test_a_text_model_is_labelled_against_text_annotations_in_both_tabs(tmp_path):
    """A hand-built paren counter saved as a model of a Python file: the Cells tab labels its cell 0
    by construction and draws the text profiles; the Probes tab probes the text targets."""
    from rnnscope.analysis.decode.probing import TEXT_PROBE_TARGETS
    from rnnscope.app.tabs.probes_tab import ProbesTab
    from hand_built import CODE, depth_counter
    text = tmp_path / "code.py.txt"
    text.write_text(CODE * 3, encoding="utf-8")
    checkpoint.save(depth_counter(sorted(set(CODE)), "["), tmp_path / "m",
                    {"data": {"kind": "text", "path": str(text)}})
    state = AppState(tmp_path / "m")
    tab = CellsTab(state=state)
    tab.open()
    labels = dict(zip(tab.table.value["cell"], tab.table.value["label"]))
    assert labels[0] == "tracks paren depth (r = +1.00)" and labels[1].startswith("+1.0 on `[`")
    assert [p.object.title.text for p in tab.profiles.objects] == [
        "mean h by char class", "mean h by in string", "mean h by bracket level"]
    probes = ProbesTab(state=state)
    probes.open()
    table = probes.body.objects[0].object
    assert all(f"<td>0</td><td>{t}</td>" in table for t in TEXT_PROBE_TARGETS) and "grammar" not in table


def test_the_probes_tab_shows_each_probe_beside_its_references(default_model):
    from rnnscope.app.tabs.probes_tab import ProbesTab
    tab = ProbesTab(state=AppState(default_model))
    assert tab.body.objects == []                     # nothing computed until the tab is shown
    tab.open()
    table = tab.body.objects[0].object
    assert "<td>0</td><td>depth_level</td><td><b>1.000</b></td>" in table
    assert "selectivity" in table and "input only" in table and "n-gram" not in table     # the grammar's: none
    assert len(tab.body.objects[2].objects) == 2      # one curve per target


def test_the_ablation_tab_reports_the_loss_and_p_next_beside_intact(default_model):
    import numpy as np

    from rnnscope.app.tabs.ablation_tab import AblationTab
    from rnnscope.models.reading.ablation import Ablation, loss_of, run_ablated
    state = AppState(default_model)
    tab = AblationTab(state=state)
    tab.param.trigger("run")
    assert "No cells picked" in tab.result.object
    state.selected = [2, 11]
    tab.mode = "zero"
    tab.param.trigger("run")
    model = checkpoint.load(default_model)
    probs = run_ablated(model, state.trace.text, [[], [Ablation(0, (2, 11), "zero")]])
    intact, ablated = loss_of(probs, model.vocab.encode(state.trace.text))
    assert f"loss **{ablated:.4f}** nats/char against {intact:.4f} intact" in tab.result.object
    assert "the oracle's floor on this text" in tab.result.object and ablated > intact + 0.1
    assert tab.plot.visible and len(tab.source.data["x"]) == len(state.trace) - 1
    np.testing.assert_allclose(tab.source.data["intact"], state.trace.next_char_prob(), atol=1e-5)
    # the grammatical share of 100 samples each, intact beside ablated, as analysis/intervene/ablation.py counts them
    from rnnscope.analysis.intervene.ablation import grammatical_shares
    shares = grammatical_shares(model, state.grammar_spec, [[], [Ablation(0, (2, 11), "zero")]], n=100, chars=300)
    good = [sum(s.grammatical) for s in shares]
    assert f"Grammatical samples: {good[0]} of 100 intact, {good[1]} of 100 ablated" in tab.samples.object
    assert good[0] >= 90 and good[1] < good[0] and shares[1].texts[0][:120] in tab.samples.object


def test_the_ablation_ranking(default_model):
    from rnnscope.app.tabs.ablation_tab import AblationTab
    tab = AblationTab(state=AppState(default_model))
    tab.param.trigger("rank")
    table = tab.ranking.value
    assert tab.ranking.visible and len(table) == 15
    assert table["rise in loss"].iloc[0] == table["rise in loss"].max() > 0.3

"""The cell card: every entry point opens it on the cell clicked, each section holds the numbers the tab that
owns them shows (and `rnnscope probe --json` writes), its address reopens it, and the export carries it."""
from __future__ import annotations

import re

import numpy as np
import pytest
from panel.io.location import Location

from rnnscope.analysis.decode.probes import rank_cells
from rnnscope.base.errors import RnnscopeError

from rnnscope.app.pages import cache, cell_facts
from rnnscope.app.pages.page import TOOLS, Page
from rnnscope.app.pages.state import AppState
from rnnscope.app.tabs.cell_card import COMPUTING

CELL = 7


class Click:
    def __init__(self, row: int):
        self.row = row


@pytest.fixture(scope="module")
def clicked(default_model):
    """The shipped GRU's page after a click on cell 7 at step 5 of the heatmap."""
    page = Page(AppState(default_model))
    page._on_cell_clicked(CELL, 5)
    return page


def test_a_heatmap_click_opens_the_card_with_every_section(clicked):
    page, card = clicked, clicked.card
    assert TOOLS[page.tools.active] == "Cell card" and card.cell == CELL and card.step == 5
    assert set(card.texts) == {"explain", "line", "coloured", "weights", "saturation", "label", "profiles", "probes",
                               "ablation", "causal", "automaton", "dynamics"}
    assert not any(COMPUTING in t or "Could not" in t for t in card.texts.values())     # nothing left behind
    assert card.texts["explain"].startswith(f"**Cell {CELL}, layer 0, position 5**")
    # its line is the heatmap's row of that cell over the shown sequence
    np.testing.assert_allclose(card.source.data["y"], page.state.trace.hidden[0][:, CELL], atol=1e-6)
    assert "Cell 7" in card.markdown() and "#### Ablation cost" in card.markdown()


def test_the_sections_hold_the_tabs_numbers(clicked, default_model):
    path = str(default_model)
    labels = {lab.cell: lab for lab in cache.cell_labels(path, "h", 0)[0]}           # the Cells tab's
    assert f"**{labels[CELL].label}**" in clicked.card.texts["label"]
    # the probes: the rank is the Probes tab's cell_order, and the weights shown rank the cells the same way
    facts = cell_facts.probe_facts(path, 0, CELL)
    for p, f in zip([p for p in cache.probes(path) if p["layer"] == 0], facts):
        assert f["rank"] == p["cell_order"].index(CELL) + 1
        coef = cache.trained_probe(path, 0, p["target"]).model[-1].coef_
        assert [int(c) for c in rank_cells(coef)] == p["cell_order"]
        assert f"| {p['target']} | {p['accuracy']:.3f} | {f['rank']} of 15 |" in clicked.card.texts["probes"]
    # ablation: the mean rise is the Ablation tab's ranking's
    intact, effects = cache.ablation_ranking(path)
    effect = next(e for e in effects if (e.layer, e.cell) == (0, CELL))
    ablation = cell_facts.ablation_facts(path, 0, CELL)
    assert ablation["intact"] == pytest.approx(intact, abs=1e-5)
    assert ablation["mean_delta"] == pytest.approx(effect.delta, abs=1e-4)
    assert f"**{ablation['mean_delta']:+.4f}**" in clicked.card.texts["ablation"]
    assert "Grammatical samples:" in clicked.card.texts["ablation"]
    # saturation: the Saturation tab's point
    h = next(s for s in cache.saturation(path) if (s["layer"], s["view"]) == (0, "h"))
    point = next(c for c in h["cells"] if c["cell"] == CELL)
    assert f"| h | -1 .. 1 | {point['left']:.3f} | {point['right']:.3f} |" in clicked.card.texts["saturation"]


def test_the_recurrent_weights_are_the_rows_and_columns_of_w_hh(default_model):
    """Checked against the torch module's own weight_hh_l0 (rows r, z, n), not the card's reading of it."""
    model = cache.load_model(default_model)
    w = model.rnn.weight_hh_l0.detach().double().numpy()
    H = w.shape[1]
    rows = cell_facts.recurrent_weights(model, 0, CELL)
    assert [g["gate"] for g in rows] == ["r", "z", "n"]
    for g, gate in enumerate(rows):
        block = w[g * H:(g + 1) * H]
        assert [x["cell"] for x in gate["from"]] == list(np.argsort(-np.abs(block[CELL]), kind="stable")[:3])
        assert [x["cell"] for x in gate["to"]] == list(np.argsort(-np.abs(block[:, CELL]), kind="stable")[:3])
        assert gate["from"][0]["weight"] == pytest.approx(block[CELL, gate["from"][0]["cell"]], abs=1e-4)


def test_the_causal_section_places_the_cell_in_the_depth_code(clicked, default_model):
    codes = cell_facts.causal_facts(str(default_model), 0, CELL)
    oracle = next(c for c in codes if c["method"] == "oracle")
    assert oracle["order"] == oracle["cells"].index(CELL) + 1
    assert oracle["member"] == (oracle["order"] <= oracle["complete_size"])
    assert f"cell {CELL} added {oracle['order']}" in clicked.card.texts["causal"]


def test_a_table_row_and_a_saturation_point_open_the_card(default_model):
    page = Page(AppState(default_model))
    cells = page.cells
    page.tools.active = TOOLS.index("Cells")
    row = int(np.flatnonzero(cells.table.value["cell"] == 3)[0])
    cells._on_click(Click(row))
    assert TOOLS[page.tools.active] == "Cell card" and page.card.cell == 3 and page.card.step is None
    assert "Explain at the clicked step" not in page.card.markdown()      # no step clicked: no breakdown
    saturation = page.saturation
    page.tools.active = TOOLS.index("Saturation")
    saturation._plot(0, "z", 11)
    assert TOOLS[page.tools.active] == "Cell card" and page.card.cell == 11 and page.state.view == "z"


def test_the_explain_tab_keeps_a_heatmap_click_to_itself(default_model):
    page = Page(AppState(default_model))
    page.tools.active = TOOLS.index("Explain")
    page._on_cell_clicked(2, 4)
    assert TOOLS[page.tools.active] == "Explain" and page.explain.cell == 2 and page.card.cell == 2


def test_the_address_reopens_the_card_and_a_bad_one_changes_nothing(default_model):
    page = Page(AppState(default_model))
    name = default_model.name
    location = Location(search=f"?cell=4&layer=0&model={name}")
    page.follow_address(location)
    assert page.card.cell == 4 and TOOLS[page.tools.active] == "Cell card"
    page.state.inspect(9, 0)                                  # a later click: the URL follows it
    assert location.query_params == {"cell": 9, "layer": 0, "model": name}
    for query, why in [({"cell": 15}, "cell 15; gru15-parens has cells 0 .. 14"),
                       ({"cell": "x"}, "cell 'x', which is not a whole number"),
                       ({"cell": 1, "layer": 2}, "layer 2; gru15-parens has layers 0 .. 0"),
                       ({"cell": 1, "model": "nope"}, "model 'nope', which is not among this page's models")]:
        with pytest.raises(RnnscopeError, match=re.escape(why)):
            page.open_address(query)
        assert page.card.cell == 9
    refused = Page(AppState(default_model))
    refused.follow_address(Location(search="?cell=99"))
    assert refused.card.cell is None and "the address asks for cell 99" in refused.state.error


def test_the_export_carries_the_card(clicked):
    html = clicked.export_html()
    assert "<h3>Cell 7, layer 0" in html and "<h4>Probe weight and rank</h4>" in html and "<table>" in html
    # below the plots, as on the page (the plots' root is the div that components() gives; its script comes last)
    assert html.index('<div id="') < html.index("<h3>Cell 7, layer 0") < html.rindex("<script")
    # its line is drawn, on the heatmap's x range, with the clicked step dashed; the section that describes the
    # page's plot beside it is not repeated
    assert '"cell-card-line"' in html
    assert "cell 7 of hidden state h: the line of the cell card, dashed at the clicked step" in html
    assert "Its line over the shown sequence" not in html
    clicked.tools.active = TOOLS.index("Cells")
    try:
        assert "Probe weight and rank" not in clicked.export_html()      # the card is exported only while shown
    finally:
        clicked.tools.active = TOOLS.index("Cell card")


@pytest.mark.slow
def test_the_card_gives_what_rnnscope_probe_json_gives(clicked, default_model):
    """The card against `rnnscope probe --json`'s numbers for the same cell (the whole probing run: ~1 min)."""
    import rnnscope as rs
    numbers = rs.load(default_model).probe().numbers
    path = str(default_model)
    row = next(c for c in numbers["cells"] if (c["layer"], c["view"], c["cell"]) == (0, "h", CELL))
    assert cell_facts.label_facts(path, "h", 0, CELL)["label"] == row["label"]
    assert cell_facts.ablation_facts(path, 0, CELL)["mean_delta"] == pytest.approx(row["ablation_delta_loss"], abs=1e-4)
    for p, f in zip([p for p in numbers["probes"] if p["layer"] == 0], cell_facts.probe_facts(path, 0, CELL)):
        assert f["rank"] == p["cell_order"].index(CELL) + 1
    sat = next(s for s in numbers["saturation"] if (s["layer"], s["view"]) == (0, "h"))
    assert {"left", "right"} <= set(sat["cells"][CELL])
    assert cell_facts.saturation_facts(path, 0, CELL)[0]["left"] == sat["cells"][CELL]["left"]
    oracle = next(c for c in cell_facts.causal_facts(path, 0, CELL) if c["method"] == "oracle")
    assert oracle["cells"] == numbers["causal_codes"][0]["cells"]
    swapped = next(c for c in cell_facts.causal_facts(path, 0, CELL) if c["method"] == "interchange")
    assert swapped["cells"] == numbers["interchange_codes"][0]["cells"]


def test_a_probe_weight_and_a_match_on_cell_open_the_card(default_model):
    page = Page(AppState(default_model))
    page.tools.active = TOOLS.index("Probes")
    probes = page.tools.objects[TOOLS.index("Probes")]
    rows = probes.objects[1].objects[-1].objects[1:]           # the card buttons, a row per probe
    first = cache.probes(str(default_model))[0]
    button = rows[0].objects[2]                                # depth_level's second strongest weight
    assert button.name == f"cell {first['cell_order'][1]}"
    button.clicks += 1
    assert TOOLS[page.tools.active] == "Cell card" and page.card.cell == first["cell_order"][1]
    page.match._offer_cards(np.array([4, 12]), 0)              # a selection's on-cells
    page.match.card_buttons.objects[1].clicks += 1
    assert page.card.cell == 12

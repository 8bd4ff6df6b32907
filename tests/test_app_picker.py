"""The sidebar's cell picker on the words it is given: numbers and ranges read by the row filter's own parser,
and label words looked up in hand-built labels (what each names is set here) and, on the page, in the Cells
tab's labels of a hand-built model whose cells mean what they were built to (tests/hand_built.py)."""
from __future__ import annotations

import pytest

from rnnscope.analysis.describe.labels import CellLabel, Finding
from rnnscope.app.drawing.row_filter import MAX_PICKED, cells_named, cells_text, pick_cells
from rnnscope.base.errors import RnnscopeError


def finding(annotation: str) -> Finding:
    return Finding(annotation, "MI", 0.5, 0.4)


# cell 0 and 4: inside a string (cleared); cell 1: depth; cell 2: a weak cell whose best, in_string, does not clear
# its null; cell 3: plain label on the character, shown beyond it on in_string (cleared there); cell 5: dead
LABELS = [
    CellLabel(0, "+0.80 inside a string, \u22120.10 elsewhere (MI 0.50 bits)", finding("in_string"), cleared=True),
    CellLabel(1, "tracks paren depth (r = +0.97)", finding("paren_depth"), cleared=True),
    CellLabel(2, "weak: no annotation clears its shuffle null (the best, +0.1 inside a string, has MI 0.01 bits "
                 "against the null's 99th percentile 0.02)", finding("in_string"), cleared=False),
    CellLabel(3, "+0.60 inside a string, given the character (MI 0.30 bits)", finding("char"), cleared=True,
              beyond=finding("in_string"), beyond_label="+0.60 inside a string", plain_label="+1.0 on `\"`"),
    CellLabel(4, "Varies with IN STRING: \u22120.5 outside, +0.5 inside (MI 0.40 bits)", finding("in_string"),
              cleared=True),
    CellLabel(5, "constant +0.000 (std 0.000): carries nothing", None),
]


def test_a_label_word_picks_the_cells_whose_label_names_it():
    # by the annotation of a cleared finding (cells 0, 3 beyond the character, 4), or by the label's own words
    assert cells_named("in_string", LABELS) == [0, 3, 4]
    assert cells_named("In String", LABELS) == [0, 3, 4]                 # case and underscores aside
    assert cells_named("inside a string", LABELS) == [0, 2, 3]          # the words of the lines themselves
    assert cells_named("paren_depth", LABELS) == cells_named("depth", LABELS) == [1]
    assert cells_named("carries nothing", LABELS) == [5] and cells_named("bracket", LABELS) == []


def test_the_picker_reads_numbers_then_words_each_cell_once():
    asked = []

    def labels():
        asked.append(1)
        return LABELS
    assert pick_cells("7, 12-15", 128, labels) == [7, 12, 13, 14, 15] and asked == []   # numbers: no labels needed
    assert pick_cells("9; in_string, 3, depth", 10, labels) == [9, 3, 0, 4, 1] and asked == [1]
    assert pick_cells("", 10, labels) == [] and pick_cells(" , ", 10, labels) == []
    assert cells_text([7, 12, 13, 14, 15]) == "7, 12-15" and cells_text([3, 4, 0]) == "3, 4, 0"


@pytest.mark.parametrize("typed, said", [
    ("7, bracket", "no cell's label names 'bracket' (the labels are the Cells tab's)"),
    ("12-15, 200", "cell 200 does not exist; this model's cells are 0 .. 127"),
    ("0-64", f"'0-64' picks 65 cells; at most {MAX_PICKED} can be plotted under the heatmap: pick fewer"),
    ("3,, 4", "'' is not a cell number or a range like 0-31")])
def test_the_picker_refuses_with_the_item_named(typed, said):
    with pytest.raises(RnnscopeError, match="^cells to plot: " + said.replace("(", r"\(").replace(")", r"\)")):
        pick_cells(typed, 128, lambda: LABELS)


def test_a_word_without_labels_says_why():
    def none():
        raise RnnscopeError("no held-out stream to label on")
    with pytest.raises(RnnscopeError, match="'depth' is not a cell number or a range like 12-15, and the cells have "
                                            "no labels to look it up in: no held-out stream to label on$"):
        pick_cells("depth", 4, none)
    with pytest.raises(RnnscopeError, match="and there are no cell labels here to look it up in$"):
        pick_cells("depth", 4, lambda: None)


def test_on_the_page_a_word_picks_by_the_cells_tabs_labels(tmp_path):
    """A hand-built paren counter saved as a model of a Python file: cell 0 is the paren depth, cell 1 is
    1 on `[` (tests/hand_built.py); the Cells tab labels them so, and the picker picks by those labels."""
    from hand_built import CODE, depth_counter

    from rnnscope.app.pages.page import Page
    from rnnscope.app.pages.state import AppState
    from rnnscope.models.network import checkpoint
    text = tmp_path / "code.py.txt"
    text.write_text(CODE * 3, encoding="utf-8")
    checkpoint.save(depth_counter(sorted(set(CODE)), "["), tmp_path / "m",
                    {"data": {"kind": "text", "path": str(text)}})
    page = Page(state=AppState(tmp_path / "m"))
    s, box = page.state, page.picker.box
    labels = {lab.cell: lab.label for lab in page.cell_labels()}
    assert labels[0] == "tracks paren depth (r = +1.00)" and labels[1].startswith("+1.0 on `[`")
    box.value = "paren_depth"
    assert s.selected == [0] and page.picker.note.object == "picked 1 cell: 0" and s.error == ""
    box.value = "on `[`, paren depth"
    assert s.selected == [1, 0] and list(page.frame.selected) == [1, 0]
    box.value = "in_string"                                  # no label names it: refused, nothing changes
    assert s.error.startswith("cells to plot: no cell's label names 'in_string'")
    assert s.selected == [1, 0] and box.value == "on `[`, paren depth"

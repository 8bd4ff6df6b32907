"""The coloured-text view: each character's background is the heatmap's colour
for that cell's value (the same palette and range, as Bokeh's LinearColorMapper maps it), the
text keeps its lines, and the export carries it."""
from __future__ import annotations

import re

import numpy as np
import pytest
from test_cli import run_error, run_ok

from rnnscope.app.drawing.coloured_text import MAX_COLOURED_CHARS, _ink, coloured_text_html, colours
from rnnscope.app.drawing.heatmap import DIVERGING, UPPER_HALF
from rnnscope.base.errors import RnnscopeError

SPAN = re.compile(r'<span style="background:(#[0-9a-f]{6});color:(#[0-9a-f]{3})" title="([^"]*)">(.*?)</span>', re.S)


def test_colours_are_the_heatmaps():
    # LinearColorMapper: index floor((v - low) / (high - low) * N), the top value in the last bin
    assert colours(np.array([-1.0, 0.0, 1.0, -0.999, np.nan]), -1, 1) == [
        DIVERGING[0], DIVERGING[127], DIVERGING[254], DIVERGING[0], "#dddddd"]
    assert DIVERGING[127].lower() == "#f7f7f7"        # RdBu11's white sits at 0
    assert colours(np.array([0.0, 0.5, 1.0]), 0, 1) == [UPPER_HALF[0], UPPER_HALF[len(UPPER_HALF) // 2],
                                                       UPPER_HALF[-1]]


def test_ink_reads_on_its_background():
    assert _ink(DIVERGING[0]) == "#fff" and _ink(DIVERGING[254]) == "#fff" and _ink(DIVERGING[127]) == "#000"


def test_one_span_per_character_with_its_position_and_value_and_lines_kept():
    text = 'if a < b:\n\tprint("x")\n'
    values = np.linspace(-1, 1, len(text))
    page = coloured_text_html(text, values, -1, 1, positions=np.arange(100, 100 + len(text)))
    spans = SPAN.findall(page)
    assert len(spans) == len(text)
    assert [s[0] for s in spans] == colours(values, -1, 1)
    assert spans[5][3] == "&lt;" and spans[0][2] == f"100: {values[0]:+.3f}"
    assert spans[9][3] == "\u21b5" and spans[10][3] == "\t"
    assert page.count("</span>\n") == 2             # each newline breaks the line after its arrow
    assert "white-space:pre-wrap" in page


def test_bad_input_is_refused():
    with pytest.raises(RnnscopeError, match="one value per character: 3 characters, 2 values"):
        coloured_text_html("abc", np.zeros(2), -1, 1)
    with pytest.raises(RnnscopeError, match=f"at most {MAX_COLOURED_CHARS:,} characters"):
        coloured_text_html("a" * (MAX_COLOURED_CHARS + 1), np.zeros(MAX_COLOURED_CHARS + 1), -1, 1)


def test_the_export_carries_the_coloured_text(capsys, tmp_path, default_model):
    text = "( 1 ( 2 ( 3 ( 4 ) 3 ) 2 ) 1 ) 0 "
    out = tmp_path / "e.html"
    run_ok(capsys, "export", "--model", str(default_model), "--text", text, "--colour-cell", "2", "-o", str(out))
    page = out.read_text()
    assert "The text coloured by cell 2" in page and len(SPAN.findall(page)) == len(text)
    err = run_error(capsys, "export", "--model", str(default_model), "--text", text, "--colour-cell", "15",
                    "-o", str(tmp_path / "bad.html"))
    assert "cell 15 does not exist; this view's cells are 0 .. 14" in err and not (tmp_path / "bad.html").exists()

"""The standalone HTML export, from the page and from the command line."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from app_fixtures import default_model  # noqa: F401

from app.export import standalone_html
from app.frame import Frame
from app.heatmap import TILE, image_data
from app.page import Page
from app.state import AppState


def external_resources(html: str) -> list[str]:
    """src/href attributes of script, link and img tags (inline JS may mention URLs in strings)."""
    return re.findall(r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']([^\"']+)", html, re.I)


@pytest.fixture(scope="module")
def page(default_model):  # noqa: F811
    p = Page(AppState(default_model))
    p.state.text = "( 1 ( 2 ) 1 ) 0 "
    p.state.param.update(view="z", order="depth", selected=[4])
    p.scope.x_range.update(start=1.5, end=9.5)     # as if zoomed in the browser
    return p


def test_export_inlines_bokeh_and_loads_nothing(page):
    html = page.export_html()
    assert external_resources(html) == []
    assert "Bokeh" in html and len(html) > 500_000          # BokehJS itself is in the file
    assert "static/extensions" not in html


def test_export_holds_exactly_what_is_on_screen(page):
    html = page.export_html()
    codes = "".join(map(chr, page.scope.seq.data["code"]))
    assert codes == "( 1 ( 2 ) 1 ) 0 "
    assert "update gate z" in html and "typed text" in html
    assert "cell 4" in html                     # the selected cell's line
    f = page.current_frame()
    assert (f.x_start, f.x_end) == (1.5, 9.5) and f.title == page.frame.title
    assert list(f.cells) == list(page.frame.cells) and f.selected == [4]


def test_wide_heatmaps_are_tiled_below_bokehs_image_limit():
    T, H = 70_000, 3
    frame = Frame(text="a" * T, title="t", values=np.random.default_rng(0).normal(size=(H, T)).astype(np.float32),
                  cells=np.arange(H), low=-1, high=1, depth=None, p_next=np.zeros(T), correlation=None)
    data = image_data(frame)
    assert all(img.shape[1] <= TILE < 65_536 for img in data["image"])
    assert data["x"] == [-0.5, TILE - 0.5] and sum(data["dw"]) == T
    np.testing.assert_array_equal(np.concatenate(data["image"], axis=1), frame.values[::-1])
    assert external_resources(standalone_html(frame)) == []


def test_cli_export(default_model, tmp_path):  # noqa: F811
    out = tmp_path / "view.html"
    r = subprocess.run([sys.executable, "-m", "rnnscope", "export", "--model", str(default_model), "--index", "40",
                        "--window", "80", "--view", "r", "--order", "depth", "--cells", "4,12", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert external_resources(html) == [] and "reset gate r" in html and "characters 40 .. 119" in html


@pytest.mark.parametrize("args, message", [
    (["--text", "( 1 x"], "'x' at 4"),
    (["--text", "( 1 ) 0 ", "--view", "f"], "view 'f' does not exist"),
    (["--text", "( 1 ) 0 ", "--cells", "99"], "cells [99] do not exist"),
])
def test_cli_export_refuses_bad_input_in_one_line(default_model, tmp_path, args, message):  # noqa: F811
    out = tmp_path / "x.html"
    r = subprocess.run([sys.executable, "-m", "rnnscope", "export", "--model", str(default_model), *args,
                        "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and not out.exists()

"""The standalone HTML export, from the page and from the command line."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from rnnscope.app.drawing.export import standalone_html
from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.heatmap import TILE, image_data
from rnnscope.app.pages.page import Page
from rnnscope.app.pages.state import AppState
from rnnscope.base.paths import CHECKPOINTS_DIR


def external_resources(html: str) -> list[str]:
    """src/href attributes of script, link and img tags (inline JS may mention URLs in strings)."""
    return re.findall(r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']([^\"']+)", html, re.I)


@pytest.fixture(scope="module")
def page(default_model):
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


def test_cli_export(default_model, tmp_path):
    out = tmp_path / "view.html"
    r = subprocess.run([sys.executable, "-m", "rnnscope", "export", "--model", str(default_model), "--index", "40",
                        "--window", "80", "--view", "r", "--order", "depth", "--cells", "4,12", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert external_resources(html) == [] and "reset gate r" in html and "characters 40 .. 119" in html
    assert "grammar depth (after reading the character)" in html      # a grammar model's tracks are there


def test_an_export_holds_only_the_tracks_it_shows(tmp_path):
    """A text model has no depth, probe or KL track: the export leaves them out rather than carry them
    hidden (a hidden figure in a standalone document is drawn as a 1-px column at the page's left)."""
    import rnnscope as rs
    out = rs.load(CHECKPOINTS_DIR / "lstm128-pystdlib").trace(index=0, window=50).save(tmp_path / "text.html")
    html = out.read_text()
    assert "surprisal of the next character" in html
    assert not any(title in html for title in ("grammar depth (after reading", "KL(oracle", "read by a linear probe"))


@pytest.mark.parametrize("args, message", [
    (["--text", "( 1 x"], "'x' at 4"),
    (["--text", "( 1 ) 0 ", "--view", "f"], "view 'f' does not exist"),
    (["--text", "( 1 ) 0 ", "--cells", "99"], "cells [99] do not exist"),
])
def test_cli_export_refuses_bad_input_in_one_line(default_model, tmp_path, args, message):
    out = tmp_path / "x.html"
    r = subprocess.run([sys.executable, "-m", "rnnscope", "export", "--model", str(default_model), *args,
                        "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and not out.exists()


def run_export(capsys, *args) -> tuple[int, list[str]]:
    from rnnscope.cli import main
    code = main(["export", *args])
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("args, message", [
    (["--index", "-5"], "index must be >= 0, got -5"),
    (["--index", "0", "--window", "0"], "window must be between 1 and 200,000, got 0"),
    (["--index", "0", "--window", "100000000"], "window must be between 1 and 200,000, got 100000000"),
    (["--index", "10000000"], "held-out index must be 0 .. 199,999; got 10,000,000"),
    (["--text", "( 1 ) 0 ", "--cells", "a,b"], "--cells takes comma-separated cell numbers, got 'a,b'"),
    (["--text", "( 1 ) 0 ", "--cells", "3,-1,15"], "cells [-1, 15] do not exist; this model's cells are 0 .. 14"),
    (["--text", "( 1 ) 0 ", "--layer", "1"], "layer 1 does not exist; this model's layers are 0 .. 0"),
    (["--text", ""], "the text is empty"),
    (["--text", "( 1 x"], "1 character(s) not in the model's vocabulary"),
    ([], "say which sequence"),
])
def test_export_errors_are_one_line_and_exit_2(default_model, tmp_path, capsys, args, message):
    out = tmp_path / "x.html"
    code, err = run_export(capsys, "--model", str(default_model), *args, "-o", str(out))
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("rnnscope export: error: ") and message in err[0], err
    assert not err[0].endswith(".") and not out.exists()


def test_export_refuses_a_missing_folder_or_a_folder_as_the_output(default_model, tmp_path, capsys):
    args = ("--model", str(default_model), "--text", "( 1 ) 0 ", "-o")
    code, err = run_export(capsys, *args, str(tmp_path / "no" / "x.html"))
    assert code == 2 and err == [f"rnnscope export: error: {tmp_path / 'no'}: no such directory"]
    code, err = run_export(capsys, *args, str(tmp_path))
    assert code == 2 and len(err) == 1 and "is a directory" in err[0]


def test_export_of_a_corrupt_model_is_one_line(corrupt_model, tmp_path, capsys):
    code, err = run_export(capsys, "--model", str(corrupt_model), "--text", "( 1 ) 0 ",
                           "-o", str(tmp_path / "x.html"))
    assert code == 2 and len(err) == 1 and "model.safetensors" in err[0] and not err[0].endswith("."), err


def test_export_index_on_a_text_model_whose_text_is_gone_names_the_file(tmp_path, capsys):
    import torch

    from rnnscope.models.network import checkpoint
    from rnnscope.models.network.model import CharRNN, ModelConfig
    torch.manual_seed(0)
    gone = tmp_path / "corpus.txt"
    ck = checkpoint.save(CharRNN(ModelConfig(vocab=list("abc "), hidden_size=4)), tmp_path / "textmodel",
                         training={"data": {"kind": "text", "path": str(gone)}})
    code, err = run_export(capsys, "--model", str(ck), "--index", "0", "-o", str(tmp_path / "x.html"))
    assert code == 2 and len(err) == 1 and str(gone) in err[0] and "no longer exists" in err[0], err
    gone.write_text("abc " * 100)                # with the text back, the window is its held-out end
    code, err = run_export(capsys, "--model", str(ck), "--index", "0", "--window", "8", "-o", str(tmp_path / "x.html"))
    assert code == 0 and (tmp_path / "x.html").is_file(), err


def test_export_help(capsys):
    from rnnscope.cli import main
    with pytest.raises(SystemExit) as e:
        main(["export", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "--index" in out and "--cells" in out and "--window" in out


def test_cli_export_can_hide_separators(default_model, tmp_path, capsys):
    out = tmp_path / "x.html"
    code, err = run_export(capsys, "--model", str(default_model), "--text", "( 1 ( 2 ) 1 ) 0 ",
                           "--hide-separators", "-o", str(out))
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert re.search(r"separators (\u2423|\\\\u2423) hidden: 8 of 16 columns", html)

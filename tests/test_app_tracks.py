"""The tracks under the heatmap, read straight from their Bokeh models (no browser)."""
from __future__ import annotations

import numpy as np

from app.frame import Frame
from app.heatmap import DIVERGING
from app.scope import Scope


def frame(text: str = "( 1 ( 2 ) 1 ) 0 ", H: int = 6, selected=(3, 1, 5)) -> Frame:
    T = len(text)
    values = np.random.default_rng(0).uniform(-1, 1, (H, T)).astype(np.float32)
    return Frame(text=text, title="hidden state h", values=values, cells=np.arange(H), low=-1, high=1,
                 depth=np.zeros(T), p_next=np.full(T, 0.5), correlation=None, selected=list(selected))


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


def test_cell_lines_are_coloured_apart_from_the_tracks_and_the_heatmap():
    scope = Scope()
    scope.update(frame())
    colours = scope.tracks.cells_source.data["color"]
    assert len(set(colours)) == 3                                  # each picked cell its own colour
    tracks = [fig.renderers[0].glyph.line_color for fig in (scope.tracks.depth, scope.tracks.prob,
                                                              scope.tracks.surprisal)]
    others = [*tracks, DIVERGING[0], DIVERGING[-1]]
    for c in colours:
        for o in others:
            assert np.linalg.norm(rgb(c) - rgb(o)) > 60, (c, o)


def test_cell_lines_are_steps_like_the_heatmap_columns():
    f = frame()
    scope = Scope()
    scope.update(f)
    data = scope.tracks.cells_source.data
    xs, ys = data["xs"][0], data["ys"][0]
    np.testing.assert_array_equal(xs[:6], [-0.5, 0.5, 0.5, 1.5, 1.5, 2.5])     # flat across each column
    np.testing.assert_array_equal(ys[:6], np.repeat(f.values[3, :3], 2))
    assert xs[-1] == len(f.text) - 0.5 and data["label"] == ["cell 3", "cell 1", "cell 5"]


def test_cell_legend_sits_above_the_lines_not_on_them():
    scope = Scope()
    scope.update(frame())
    fig = scope.tracks.cells
    legends = [m for m in fig.above if m.__class__.__name__ == "Legend"]
    assert legends and not any(m.__class__.__name__ == "Legend" for m in fig.center + fig.right)
    scope.update(frame(H=15, selected=range(12)))                   # more than a row: two rows, a taller plot
    assert legends[0].ncols == 8 and fig.height > 200

"""The tracks under the heatmap, read straight from their Bokeh models (no browser)."""
from __future__ import annotations

import numpy as np
import torch

from rnnscope.app.drawing.frame import Frame
from rnnscope.app.drawing.heatmap import DIVERGING
from rnnscope.app.drawing.scope import Scope



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


def test_the_depth_probe_track_reads_depth_from_the_states(default_model):
    """The Probes tab's depth probe applied to the window on screen: on the shipped GRU it reads
    the true depth almost everywhere, and the title carries the Probes tab's own accuracy."""
    from rnnscope.app.pages import cache
    from rnnscope.app.pages.page import Page
    from rnnscope.app.pages.state import AppState
    from rnnscope.models.data.heldout import heldout_of
    state = AppState(default_model, index=150_000, window=1_000)
    page = Page(state)
    predicted = page.scope.seq.data["probe_depth"]
    truth = heldout_of(default_model).annotations["depth"][150_000:151_000]
    assert predicted.shape == (1_000,) and (predicted == truth).mean() >= 0.99
    np.testing.assert_array_equal(predicted, page.frame.probe_depth)
    # the title's accuracy: the probe's hits on the second half of the held-out states it was not trained on
    kept = cache.depth_probe(default_model, 0)
    held, ann = cache._heldout_trace(str(default_model), cache.stamp(default_model), cache.LABEL_CHARS)  # shared
    hits = kept.predict(held.hidden[0][50_000:]) == ann["depth_level"].values[50_000:]
    track = page.scope.tracks.probe
    assert track.visible and f"held-out accuracy {hits.mean():.3f}, n = 50,000" in track.title.text
    state.hide_separators = True                       # the track keeps the shown columns only
    np.testing.assert_array_equal(page.frame.probe_depth, predicted[page.frame.positions])


def test_each_layer_has_its_own_probe_and_text_models_none(gru2_model, tmp_path):
    from rnnscope.app.pages.page import Page
    from rnnscope.app.pages.state import AppState
    from rnnscope.models.network import checkpoint
    from rnnscope.models.network.model import CharRNN, ModelConfig
    page = Page(AppState(gru2_model))
    assert "probe of layer 0 " in page.scope.tracks.probe.title.text
    page.state.layer = 1
    assert "probe of layer 1 " in page.scope.tracks.probe.title.text
    np.testing.assert_array_equal(page.scope.seq.data["probe_depth"], page.state.probe.predicted[1])
    text = tmp_path / "t.txt"
    text.write_text("hello world, hello rnnscope\n" * 100, encoding="utf-8")
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=sorted(set(text.read_text())), hidden_size=4, embedding_dim=3))
    checkpoint.save(model, tmp_path / "m", {"data": {"kind": "text", "path": str(text)}})
    page = Page(AppState(tmp_path / "m"))
    assert page.frame.probe_depth is None and not page.scope.tracks.probe.visible
    assert "no depth probe track: text has no depth to probe for" in page.state.model_note


def test_the_tracks_fit_their_y_range_as_data_range1d_would_and_never_to_nan():
    """tracks.fit_range: the finite values' span padded by 5% a side (Bokeh's DataRange1d default,
    range_padding 0.1), a span of 2 around a constant, and 0 .. 1 when no value is finite (a text
    model's depth column: BokehJS cannot fit a DataRange1d there and warns in the console)."""
    from bokeh.models import Range1d

    from rnnscope.app.drawing.tracks import fit_range
    r = Range1d(0, 1)
    fit_range(r, np.array([0, 4, 2, np.nan], np.float32))
    assert (r.start, r.end, r.reset_start, r.reset_end) == (-0.2, 4.2, -0.2, 4.2)
    fit_range(r, np.array([1.0, np.nan]), np.array([3.0, np.inf]))        # two columns: the probe track's
    assert (r.start, r.end) == (0.9, 3.1)
    fit_range(r, np.array([2.0, 2.0]))
    assert (r.start, r.end) == (1.0, 3.0)
    fit_range(r, np.full(5, np.nan, np.float32))
    assert (r.start, r.end) == (0.0, 1.0)

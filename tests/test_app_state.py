"""The page's behaviour, driven through AppState parameters and read back from the Bokeh
sources -- no browser needed."""
from __future__ import annotations

import numpy as np
import pytest

from rnnscope.app.drawing.heatmap import label_ticks, plot_height
from rnnscope.app.pages.page import Page
from rnnscope.app.pages.sequences import MAX_CHARS, MAX_SAMPLE_CHARS
from rnnscope.models.data.heldout import HELDOUT_CHARS
from rnnscope.app.pages.state import AppState



@pytest.fixture
def page(default_model):
    return Page(AppState(default_model))


def image(page) -> np.ndarray:
    return np.concatenate(page.scope.heatmap.source.data["image"], axis=1)


def test_page_opens_on_a_held_out_sequence(page):
    s = page.state
    assert s.error == ""
    assert s.source == "held-out" and len(s.trace) == s.window
    assert "held-out stream" in s.sequence_note and "in the grammar" in s.sequence_note
    assert image(page).shape == (15, s.window)


def test_unknown_characters_are_listed_with_positions_and_the_view_is_kept(page):
    before = image(page).copy()
    text_before = page.state.trace.text
    page.state.text = "( 1 x ( 2 ) 1 ) 0 é"
    err = page.state.error
    assert "'x' at 4" in err and "'é' at 18" in err and "2 character(s)" in err
    assert "last good sequence" in err
    assert page.state.trace.text == text_before
    np.testing.assert_array_equal(image(page), before)


@pytest.mark.parametrize("text, why", [("", "empty"), ("( " * (MAX_CHARS // 2 + 1), "at most")])
def test_empty_or_too_long_text_is_refused(page, text, why):
    page.state.text = "( 1 ) 0 "
    page.state.text = text
    assert why in page.state.error
    assert page.state.trace.text == "( 1 ) 0 "


def test_ungrammatical_text_traces_and_says_where_the_grammar_broke(page):
    page.state.text = "( 1 ) ) 0 "
    assert page.state.error == ""
    assert page.state.trace.text == "( 1 ) ) 0 "
    assert image(page).shape[1] == 10
    assert "first broken at position 6" in page.state.sequence_note


def test_a_good_input_clears_the_message(page):
    page.state.text = "x"
    assert page.state.error
    page.state.text = "( 2"
    assert page.state.error == ""


def test_held_out_windows_carry_the_true_depth(page):
    page.state.index = 501
    depth = page.scope.seq.data["depth"]
    assert depth.min() >= 0 and depth.max() <= 4
    assert "in the grammar (continuing a stream at depth" in page.state.sequence_note


def test_random_and_sampled_sequences(page):
    first = page.state.trace.text
    page.state.param.trigger("random")
    assert page.state.source == "held-out" and page.state.trace.text != first
    page.state.param.update(sample_chars=120, temperature=0.8, seed=3)
    page.state.param.trigger("sample")
    assert page.state.source == "sampled" and len(page.state.trace) == 120
    assert "temperature 0.8" in page.state.sequence_note


def test_switching_view_changes_the_image_and_the_stated_range(page):
    h = image(page).copy()
    assert (page.scope.heatmap.mapper.low, page.scope.heatmap.mapper.high) == (-1, 1)
    page.state.view = "z"
    z = image(page)
    assert not np.allclose(h, z)
    assert 0 <= z.min() and z.max() <= 1
    assert (page.scope.heatmap.mapper.low, page.scope.heatmap.mapper.high) == (0, 1)
    title = page.scope.heatmap.figure.title.text         # read across the top, not up the colour bar
    assert "0 \u2026 1 (red)" in title and "update gate z" in title and "white = 0" in title
    assert page.scope.heatmap.colour_bar.title in (None, "")


def test_palette_is_diverging_and_centred_on_zero(page):
    pal = page.scope.heatmap.mapper.palette
    assert len(pal) % 2 == 1
    mid = pal[len(pal) // 2].lstrip("#")
    assert all(int(mid[i:i + 2], 16) > 230 for i in (0, 2, 4))        # white-ish at 0


def test_ordering_by_depth_puts_the_most_depth_correlated_cell_on_top(page):
    page.state.window = 2000
    page.state.order = "depth"
    frame = page.frame
    r = np.abs(frame.correlation)
    top = int(frame.cells[0])
    assert r[top] == r.max()
    assert list(np.abs(frame.correlation[frame.cells])) == sorted(r, reverse=True)
    labels = page.scope.heatmap.rows.data["label"]
    # each label keeps the true cell number and shows the correlation that placed it
    depth = page.state.trace.annotations["depth"]
    r_top = np.corrcoef(page.state.trace.values("h", 0)[:, top], depth)[0, 1]
    assert labels[0] == f"cell {top}  r={r_top:+.2f}"
    H = len(labels)
    assert label_ticks(H, -0.5, H - 0.5, plot_height(H))[0] == H - 1     # the top row is labelled (by the JS ticker)
    # the top row of the image (last row in Bokeh's bottom-up order) is that cell's values
    np.testing.assert_allclose(image(page)[-1], page.state.trace.values("h", 0)[:, top])
    page.state.order = "index"
    assert page.scope.heatmap.rows.data["label"][0] == "cell 0"


def test_columns_are_centred_on_their_character_ticks(page):
    page.state.text = "( 1 ( 2 ) 1 ) 0 "
    src = page.scope.heatmap.source.data
    assert src["x"] == [-0.5] and src["dw"] == [16]           # column t spans t-0.5 .. t+0.5
    seq = page.scope.seq.data
    np.testing.assert_array_equal(seq["x"], np.arange(16))  # tick t sits at the centre of column t
    assert "".join(map(chr, seq["code"])) == "( 1 ( 2 ) 1 ) 0 "


def test_selected_cells_are_drawn_as_lines_and_tap_plots_a_row(page):
    page.state.selected = [4, 12]
    data = page.scope.tracks.cells_source.data
    assert data["label"] == ["cell 4", "cell 12"]
    np.testing.assert_allclose(data["ys"][0][::2], page.state.trace.values("h", 0)[:, 4])   # drawn as steps

    class Tap:
        x, y = 5, 14 - 2      # the sixth character, the third row from the top
    page._on_tap(Tap)
    third = int(page.frame.cells[2])
    assert third in page.state.selected
    page._on_tap(Tap)                                      # a second click leaves it plotted
    assert page.state.selected.count(third) == 1


def test_tracks_share_the_heatmap_x_range_and_line_up_under_it(page):
    heat = page.scope.heatmap.figure
    for fig in page.scope.tracks.figures:
        assert fig.x_range is heat.x_range
        assert (fig.min_border_left, fig.min_border_right) == (heat.min_border_left, heat.min_border_right)
        assert fig.toolbar_location is None                 # one toolbar, the heatmap's, for the stack
    assert heat.toolbar_location == "above"


def test_tracks_have_few_y_ticks_and_whole_number_depths(page):
    from bokeh.models import BasicTicker, FixedTicker
    tracks = page.scope.tracks
    assert isinstance(tracks.prob.yaxis[0].ticker, FixedTicker) and tracks.prob.yaxis[0].ticker.ticks == [0, 0.5, 1]
    depth = tracks.depth.yaxis[0].ticker
    assert isinstance(depth, BasicTicker) and depth.min_interval == 1 and depth.desired_num_ticks <= 3
    assert tracks.surprisal.yaxis[0].ticker.desired_num_ticks <= 3


def test_the_cell_plot_shows_only_once_cells_are_picked(page):
    tracks = page.scope.tracks
    page.state.selected = []
    assert not tracks.cells.visible and tracks.surprisal_chars.visible   # characters under the last track shown
    page.state.selected = [3]
    assert tracks.cells.visible and not tracks.surprisal_chars.visible
    assert tracks.cells.title.text == "hidden state h of the selected cells"


def test_p_next_is_the_probability_of_the_actual_next_character(page):
    tr = page.state.trace
    p = page.scope.seq.data["p_next"]
    nxt = tr.vocab.index(tr.text[1])
    assert p[0] == pytest.approx(tr.probs[0, nxt])
    assert np.isnan(p[-1])


def test_lstm_views_adapt(lstm_model):
    page = Page(AppState(lstm_model))
    assert list(page.state.param.view.objects) == ["h", "i", "f", "g", "o", "c"]
    page.state.view = "c"
    low, high = page.scope.heatmap.mapper.low, page.scope.heatmap.mapper.high
    assert low == -high and np.abs(image(page)).max() <= high


def test_two_layer_model_offers_both_layers(gru2_model):
    page = Page(AppState(gru2_model))
    assert list(page.state.param.layer.objects) == [0, 1]
    l0 = image(page).copy()
    page.state.layer = 1
    assert not np.allclose(l0, image(page))
    assert "layer 1" in page.scope.heatmap.figure.title.text


def test_switching_models_adapts_views_and_a_corrupt_one_is_refused(default_model, lstm_model, corrupt_model):
    state = AppState(default_model)
    page = Page(state)
    state.param.model_path.objects = {"gru": str(default_model), "lstm": str(lstm_model), "bad": str(corrupt_model)}
    state.view = "z"
    state.model_path = str(lstm_model)
    assert state.error == "" and state.view == "h" and "c" in state.param.view.objects
    assert image(page).shape[0] == 6
    state.model_path = str(corrupt_model)
    assert "model.safetensors" in state.error and "last good sequence" in state.error
    assert state.model_path == str(lstm_model)
    assert image(page).shape[0] == 6


def test_refused_text_changes_nothing_not_even_the_source(page):
    before = (page.state.source, page.state.trace.text, image(page).copy())
    page.state.text = "( 1 x"
    assert "'x' at 4" in page.state.error and page.state.error.endswith("still shows the last good sequence.")
    why = page.state.refusal
    assert why.startswith("1 character(s) not in the model's vocabulary") and "'x' at 4" in why
    assert "The page" not in page.state.refusal and not page.state.refusal.endswith(".")
    assert page.state.source == "held-out"             # "Sequence from" does not claim "typed"
    assert page.state.trace.text == before[1]
    np.testing.assert_array_equal(image(page), before[2])


def test_an_index_past_the_stream_is_refused_and_snaps_back(page):
    page.state.index = 300
    page.state.text = "( 1 ) 0 "
    page.state.index = 10**9
    assert f"held-out index must be 0 .. {HELDOUT_CHARS - 1:,}; got 1,000,000,000" in page.state.error
    assert (page.state.source, page.state.index) == ("typed", 300)
    assert page.state.trace.text == "( 1 ) 0 "


@pytest.mark.parametrize("name, bad, said", [
    ("index", -5, f"held-out index must be 0 .. {HELDOUT_CHARS - 1:,}; got -5"),
    ("index", HELDOUT_CHARS, f"held-out index must be 0 .. {HELDOUT_CHARS - 1:,}; got {HELDOUT_CHARS:,}"),
    ("window", 0, f"window must be 1 .. {MAX_CHARS:,} characters; got 0"),
    ("window", None, f"window must be 1 .. {MAX_CHARS:,} characters; the box is empty"),
    ("sample_chars", MAX_SAMPLE_CHARS + 1,
     f"sample length must be 1 .. {MAX_SAMPLE_CHARS:,} characters; got {MAX_SAMPLE_CHARS + 1:,}"),
    ("temperature", 0, "temperature must be 0.05 .. 5; got 0"),
    ("seed", -1, "sample seed must be 0 .. 4,294,967,295; got -1"),
    ("seed", None, "sample seed must be 0 .. 4,294,967,295; the box is empty"),
])
def test_a_number_outside_its_range_is_refused_with_the_range_and_snaps_back(page, name, bad, said):
    s = page.state
    s.param.update(index=300, window=50, sample_chars=120, temperature=0.8, seed=3)
    before = (getattr(s, name), s.trace.text)
    setattr(s, name, bad)
    assert s.error == said + ". The page still shows the last good sequence."
    assert (getattr(s, name), s.trace.text) == before          # the box shows the value in effect
    assert (s.index, s.window, s.sample_chars, s.temperature, s.seed) == (300, 50, 120, 0.8, 3)


def test_a_served_model_named_like_a_shipped_one_gets_a_readable_label(tmp_path):
    from rnnscope.app.pages.state import MODELS_DIR, find_checkpoints
    shipped = sorted(p.parent.name for p in MODELS_DIR.glob("*/config.json"))[0]
    extra = tmp_path / "runs" / shipped
    found = find_checkpoints(extra)
    assert found[f"{shipped} (runs)"] == str(extra.resolve())
    assert found[shipped] == str((MODELS_DIR / shipped).resolve())
    assert all(len(label) < 60 for label in found)
    assert find_checkpoints(MODELS_DIR / shipped) == find_checkpoints()   # no duplicate for a shipped one


def test_in_a_served_session_redraws_wait_for_the_documents_next_tick(page):
    """A widget may change a parameter outside Bokeh's document lock (a text box losing focus);
    touching a Bokeh source there raises, so a served page draws on the next tick, and only
    the newest of several changes made in one tick."""
    from bokeh.document import Document
    doc = Document()
    doc.add_root(page.scope.layout)
    doc._session_context = lambda: object()          # as if served
    queued = []
    doc.add_next_tick_callback = queued.append
    before = image(page).copy()
    page.state.view = "r"
    page.state.view = "z"
    assert len(queued) == 1 and page.frame.title.startswith("update gate z")
    np.testing.assert_array_equal(image(page), before)   # not drawn yet
    queued[0]()
    np.testing.assert_allclose(image(page)[::-1], page.state.trace.values("z", 0).T)


def test_hiding_separators_keeps_the_tokens_and_their_true_positions(page):
    page.state.text = "( 1 ( 2 ) 1 ) 0 "
    page.state.selected = [4]
    full = page.frame
    page.state.hide_separators = True
    f = page.frame
    kept = [0, 2, 4, 6, 8, 10, 12, 14]
    assert f.text == "(1(2)1)0" and list(f.positions) == kept and f.hidden == 8
    np.testing.assert_array_equal(f.values, full.values[:, kept])
    np.testing.assert_array_equal(f.depth, full.depth[kept])
    # p of the hidden separator and the next token together (the separator alone is ~1); none after the last
    np.testing.assert_allclose(f.p_next, [full.p_next[t] * full.p_next[t + 1] for t in kept], rtol=1e-6)
    assert np.isnan(f.p_next[-1]) and "next shown character" in page.scope.tracks.prob.title.text
    assert list(f.cells) == list(full.cells)                          # rows are not reordered
    seq = page.scope.seq.data                                         # what the hover, axes and tracks read
    assert list(seq["pos"]) == kept and "".join(map(chr, seq["code"])) == "(1(2)1)0"
    assert image(page).shape == (15, 8)
    lines = page.scope.tracks.cells_source.data
    assert len(lines["xs"][0]) == 2 * 8                               # the cell line has the same columns
    assert "separators \u2423 hidden: 8 of 16 columns" in page.scope.heatmap.figure.title.text
    assert list(page.current_frame().positions) == kept                # the export draws the same columns
    page.state.hide_separators = False
    assert page.frame.text == "( 1 ( 2 ) 1 ) 0 " and list(page.scope.seq.data["pos"]) == list(range(16))
    assert "separators" not in page.scope.heatmap.figure.title.text


def test_hiding_separators_of_plain_text_hides_spaces_and_never_everything():
    from rnnscope.app.drawing.frame import make_frame
    from rnnscope.models.reading.trace import Trace
    vocab = list(" ab")

    def trace(text):
        T = len(text)
        return Trace(text=text, vocab=vocab, cell="gru", hidden=[np.arange(T * 2, dtype=np.float32).reshape(T, 2)],
                     gates=[{}], probs=np.full((T, 3), 1 / 3, np.float32))
    f = make_frame(trace("ab  ba"), hide_separators=True)
    assert f.text == "abba" and list(f.positions) == [0, 1, 4, 5] and f.depth is None
    np.testing.assert_allclose(f.p_next, [1 / 3, 1 / 27, 1 / 3, np.nan], rtol=1e-6)   # "b" is followed by 2 spaces
    assert f.hidden_note == "separators \u2423 hidden: 2 of 6 columns"
    f = make_frame(trace("   "), hide_separators=True)
    assert f.text == "   " and f.hidden == 0 and f.hidden_note == "nothing but separators: none hidden"
    assert make_frame(trace("ab"), hide_separators=True).hidden_note == "no separators to hide"

"""The page opened on an LSTMVis directory: set parameters, read ``source.data``
in plain pytest. The directories are written here by hand, by LSTMVis's documented conventions
(README "Adding Your Own Data", docs/chapter/config_states.md, meta.md): dataset and file names of the
writer's choosing as lstm.yml names them, a states type in a file of its own, LSTMVis's default tanh
and ``transform: none``, a categorical meta track with its dictionary and a scalar one, words of
several characters. Every number is checked against the HDF5 arrays read back here with h5py."""
from __future__ import annotations

import re
from importlib.machinery import SourceFileLoader
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

from rnnscope.analysis.describe.annotations import Annotation, Annotations
from rnnscope.analysis.describe.labels import label_cells
from rnnscope.analysis.describe.match import match
from rnnscope.app.pages.lstmvis.lstmvis_page import LstmvisPage, lstmvis_template
from rnnscope.app.pages.lstmvis.lstmvis_source import MAX_WINDOW
from rnnscope.app.pages.lstmvis.lstmvis_state import LstmvisState
from rnnscope.models.reading import tracer
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.interop.lstmvis import write_lstmvis
from rnnscope.models.network.model import CharRNN, ModelConfig

T = 240
serve = SourceFileLoader("serve", str(Path(__file__).resolve().parent.parent / "serve.py")).load_module()
TEXT = ("ab (cd) " * 30)[:T]


def write_hand_made(d: Path, words: list[str], rng: np.random.Generator) -> dict:
    """An LSTMVis directory as its own pipeline would lay it out; returns the arrays written."""
    d.mkdir()
    vocab = sorted(set(words))
    ids = np.array([vocab.index(w) + 1 for w in words], np.int64)
    arrays = {"cell": rng.normal(scale=2.0, size=(len(words), 5)).astype(np.float32),     # unbounded: tanh'd
              "out": np.tanh(rng.normal(size=(len(words), 3))).astype(np.float32),        # transform: none
              "pos": (np.arange(len(words)) % 3 == 0).astype(np.int64),
              "mood": np.linspace(0, 1, len(words))}
    arrays["cell"][:, 2] = np.where(arrays["pos"] == 1, 3.0, -3.0)       # a cell that is the pos track
    with h5py.File(d / "cbt_epoch10.h5", "w") as f:
        f.create_dataset("lstm/cells", data=arrays["cell"])
    with h5py.File(d / "outputs.h5", "w") as f:
        f.create_dataset("out2", data=arrays["out"])
    with h5py.File(d / "train.h5", "w") as f:
        f.create_dataset("word_ids", data=ids)
    (d / "train.dict").write_text("".join(f"{w if w != ' ' else ''} {i + 1}\n" for i, w in enumerate(vocab)))
    with h5py.File(d / "annotations.h5", "w") as f:
        f.create_dataset("pos", data=arrays["pos"])
        f.create_dataset("mood", data=arrays["mood"])
    (d / "pos.dict").write_text("other 0\nstart 1\n")
    config = {"name": "by hand",
              "files": {"states": "cbt_epoch10.h5", "outputs": "outputs.h5", "word_ids": "train.h5",
                        "words": "train.dict", "ann": "annotations.h5", "pos_dict": "pos.dict"},
              "word_sequence": {"file": "word_ids", "path": "word_ids", "dict_file": "words"},
              "states": {"file": "states", "types": [
                  {"type": "state", "layer": 1, "path": "lstm/cells"},
                  {"file": "outputs", "type": "output", "layer": 2, "path": "out2", "transform": "none"}]},
              "meta": {"part_of_speech": {"file": "ann", "path": "pos", "dict": "pos_dict",
                                          "vis": {"type": "discrete", "range": "dict"}},
                       "mood": {"file": "ann", "path": "mood", "vis": {"type": "scalar", "range": [0, 1]}}}}
    (d / "lstm.yml").write_text(yaml.safe_dump(config))
    return arrays


@pytest.fixture(scope="module")
def chars_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("lv") / "chars"
    return d, write_hand_made(d, list(TEXT), np.random.default_rng(0))


@pytest.fixture(scope="module")
def words_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("lv") / "words"
    words = [["the", "cat", "sat", ".", "on"][k % 5] for k in range(60)]
    return d, write_hand_made(d, words, np.random.default_rng(1)), words


def shown(page: LstmvisPage) -> np.ndarray:
    """The heatmap's image as drawn ([rows, columns], displayed row 0 first), tiles joined."""
    return np.concatenate(page.scope.heatmap.source.data["image"], axis=1)[::-1]


def test_heatmap_is_the_hdf5_states_of_the_window_as_lstmvis_draws_them(chars_dir):
    d, arrays = chars_dir
    page = LstmvisPage(LstmvisState(d))
    s = page.state
    assert list(s.param.states.objects.values()) == [("state", 1), ("output", 2)]
    s.param.update(start=37, window=25)
    assert np.allclose(shown(page), np.tanh(arrays["cell"][37:62]).T, atol=1e-6)     # LSTMVis's default tanh
    assert "tanh applied" in page.scope.heatmap.figure.title.text
    assert "".join(chr(c) for c in page.scope.seq.data["code"]) == TEXT[37:62]
    mapper = page.scope.heatmap.mapper
    assert (mapper.low, mapper.high) == (-1.0, 1.0)
    s.states = ("output", 2)
    assert np.array_equal(shown(page), arrays["out"][37:62].T)                          # transform: none: as stored
    assert s.sequence_note == f"steps 37 .. 61 of {T}"
    s.start = T - 5                        # past the end: what there is, and the note says so
    assert shown(page).shape == (3, 5) and "the file ends there: 5 of the 25 steps" in s.sequence_note


def test_meta_tracks_are_the_meta_datasets_and_model_tracks_are_absent(chars_dir):
    d, arrays = chars_dir
    page = LstmvisPage(LstmvisState(d))
    page.state.param.update(start=100, window=30)
    data = page.meta.source.data
    assert np.array_equal(data["part_of_speech"], arrays["pos"][100:130])
    assert data["part_of_speech_name"] == ["start" if p else "other" for p in arrays["pos"][100:130]]
    assert np.allclose(data["mood"], arrays["mood"][100:130])
    titles = {"part_of_speech": "meta track: part_of_speech (codes; hover names them)", "mood": "meta track: mood"}
    in_config = list(yaml.safe_load((d / "lstm.yml").read_text())["meta"])       # tracks in lstm.yml's order
    assert [f.title.text for f in page.meta.figures] == [titles[name] for name in in_config]
    tracks = page.scope.tracks
    assert not any(f.visible for f in (tracks.depth, tracks.probe, tracks.kl, tracks.prob, tracks.surprisal))
    assert page.scope.layout.children == [page.scope.heatmap.figure, *page.meta.figures, tracks.cells]


def test_word_files_label_columns_with_their_words(words_dir):
    d, arrays, words = words_dir
    page = LstmvisPage(LstmvisState(d, window=12))
    page.state.start = 7
    assert page.scope.seq.data["word"] == words[7:19]
    assert np.allclose(shown(page), np.tanh(arrays["cell"][7:19]).T, atol=1e-6)
    page.state.start = 8                   # the same stand-in text, other words: the axis must follow
    assert page.scope.seq.data["word"] == words[8:20]
    page.match.select(1, 1)                # the window's column 1, step 9: pos is 1 there (every third step)
    assert f"({words[9]!r})" in page.match.said.object          # the word selected, not its column's stand-in
    assert "**Selected:** steps 9 .. 9 of the file" in page.match.said.object     # the file's step, not column 1
    first = page.match.matches[0]
    assert page.match.table.value["text"].iloc[0].split("\u27e6")[1].split("\u27e7")[0] == words[first.start]
    assert 2 in page.match.cells and all(m.start % 3 == 0 and m.end == m.start for m in page.match.matches)
    page.match.select(2, 4)                # steps 10 .. 12: no cell is on throughout, and the refusal quotes them
    assert f"({' '.join(words[10:13])!r})" in page.match.error.object and page.match.error.visible
    assert "throughout steps 10 .. 12 of the file" in page.match.error.object


def test_match_scans_the_whole_file_and_equals_analysis_match_on_the_arrays(chars_dir):
    d, arrays = chars_dir
    page = LstmvisPage(LstmvisState(d))
    page.state.param.update(start=30, window=20)
    page.match.select(6, 6)                # step 36: pos is 1 there, so cell 2 is tanh(3) and off either side
    drawn = np.tanh(arrays["cell"].astype(np.float64))
    on = np.flatnonzero((drawn[36] > 0.5) & (drawn[35] <= 0.5) & (drawn[37] <= 0.5))   # LSTMVis's on-cells by hand
    assert 2 in on and list(page.match.cells) == list(on)
    expected = match(drawn.astype(np.float32), on, 0.5, 1, top=20)
    assert page.match.matches == expected and len(expected) > 0
    assert page.match.table.value["start"].tolist() == [m.start for m in expected]
    assert "whole** states file (240 steps" in page.match.status.object
    page.match.load(expected[-1].start, expected[-1].end)    # a match loads as a window, its span highlighted
    s = page.state
    assert s.start <= expected[-1].start and expected[-1].end < s.start + len(s.trace)
    assert page.match.box.visible and page.match.box.left == expected[-1].start - s.start - 0.5


def test_cells_are_labelled_against_the_meta_tracks_over_the_whole_file(chars_dir):
    d, arrays = chars_dir
    page = LstmvisPage(LstmvisState(d))
    page.__panel__().get_root()            # built and rendered as a session's page is, the About tab showing
    assert page.cells.table.value.empty    # not labelled while the page loads: only once the tab is opened
    page.tools.active = 1                  # the Cells tab
    table = page.cells.table.value
    ann = Annotations({"part_of_speech": Annotation("part_of_speech", False, arrays["pos"], ("other", "start")),
                       "mood": Annotation("mood", True, arrays["mood"])})
    expected = label_cells(np.tanh(arrays["cell"]), ann, (-1.0, 1.0))
    assert table["cell"].tolist() == [lab.cell for lab in expected]
    assert table["cell"].iloc[0] == 2 and table["stat"].iloc[0] == "MI" and table["explained"].iloc[0] > 0.99
    page.state.param.update(order="label score")
    assert page.frame.cells[0] == 2
    # the picker's label words look in the same labels: cell 2 is the part-of-speech track by construction
    named = [lab.cell for lab in expected if "part of speech" in lab.label.lower()
             or (lab.cleared and lab.best is not None and lab.best.annotation == "part_of_speech")]
    page.picker.box.value = "part_of_speech, 0"
    assert 2 in named and page.state.selected == [0, *sorted(c for c in named if c != 0)]


def test_refusals_are_one_line_and_change_nothing(chars_dir, tmp_path, capsys):
    d, _ = chars_dir
    page = LstmvisPage(LstmvisState(d))
    page.state.param.update(start=10, window=20)
    before = shown(page).copy()
    for name, value, said in [("start", T, f"start must be 0 .. {T - 1}"), ("start", None, "the box is empty"),
                              ("window", MAX_WINDOW + 1, f"window must be 1 .. {MAX_WINDOW:,} steps"),
                              ("window", 0, "window must be 1")]:
        setattr(page.state, name, value)
        assert said in page.state.error and "\n" not in page.state.error
        assert (page.state.start, page.state.window) == (10, 20) and np.array_equal(shown(page), before)
    page.state.param.update(rows="cells listed", cell_list="0-9")
    assert "cell 9 does not exist" in page.state.error and page.state.rows == "all cells"
    (tmp_path / "empty").mkdir()
    for bad, said in [(tmp_path / "nowhere", "no such directory"), (tmp_path / "empty", "no lstm.yml")]:
        with pytest.raises(RnnscopeError, match=said):
            LstmvisState(bad)
        alert = lstmvis_template(str(bad)).main.objects[0]
        assert alert.object.startswith("Cannot open the LSTMVis directory") and said in alert.object
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in d.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    cfg = yaml.safe_load((broken / "lstm.yml").read_text())
    cfg["states"]["types"][0]["path"] = "lstm/nothing"
    (broken / "lstm.yml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(RnnscopeError, match="no dataset 'lstm/nothing'"):
        LstmvisState(broken)
    assert serve.main(["--lstmvis", str(broken), "--port", "1"]) == 2        # refused before any server starts
    out = capsys.readouterr()
    assert out.out == "" and out.err.strip().count("\n") == 0 and "no dataset 'lstm/nothing'" in out.err
    good = cfg["states"]["types"][1]
    for types, said in [([good, dict(good)], "type 'output' of layer 2 is listed twice"),
                        ([{**good, "transform": "log"}], "transform 'log' is not one LSTMVis knows"),
                        ([{"type": "output", "path": "out2"}], "not an LSTMVis config (KeyError: 'layer')")]:
        cfg["states"]["types"] = types
        (broken / "lstm.yml").write_text(yaml.safe_dump(cfg))
        with pytest.raises(RnnscopeError, match=re.escape(said)):
            LstmvisState(broken)


def test_a_directory_rnnscope_wrote_shows_its_trace_exactly(tmp_path):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab=sorted(set(TEXT)), cell="lstm", hidden_size=4, num_layers=1,
                                embedding_dim=None)).eval()
    tr = tracer.trace(model, TEXT[:80])
    write_lstmvis(tr, tmp_path / "lv")
    page = LstmvisPage(LstmvisState(tmp_path / "lv", window=50))
    assert np.array_equal(shown(page), tr.hidden[0][:50].T)           # h: transform none, as traced
    page.state.states = ("state", 1)
    assert np.allclose(shown(page), np.tanh(tr.gates[0]["c"][:50]).T, atol=1e-6)   # c: LSTMVis's tanh

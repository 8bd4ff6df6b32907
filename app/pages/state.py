"""All of the page's state in one Parameterized: which model, which sequence, what is shown.

Widgets are made from these parameters and the plots redraw when ``trace`` or the view
parameters change, so most of the page is testable by setting parameters in plain Python.
Every bad input leaves a message in ``error`` and keeps the last good trace; ``refusal``
holds the bare reason (for callers other than the page, e.g. the export). A state that
cannot show its first sequence raises RnnscopeError with that reason.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import param

from rnnscope import grammar
from rnnscope.analysis.describe.divergence import oracle_divergence
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.reading.trace import VIEW_LABELS

from rnnscope.app.pages import cache, sequences
from rnnscope.app.pages.sequence_boxes import number_refusal, opening_window
from rnnscope.app.pages.checkpoints import (  # noqa: F401  (imported from here)
    MODEL_ENV, MODELS_DIR, default_model, describe_model, find_checkpoints)
from rnnscope.app.pages.rows_state import RowsState

from rnnscope.app.drawing.ordering import label_score_ranking, orders_for
from rnnscope.app.pages.cache import probe_track
from rnnscope.app.drawing.row_filter import ALL, FILTERS, TOP_K

SOURCES = ("held-out", "typed", "sampled")
# How a held-out window is read: with the state carried along the stream (what the model holds
# there, models/reading/context.py), or from a fresh zero state (what it does when it wakes up mid-stream).
READINGS = {"in context (carried state)": "in context",
            "from the zero state": "from the zero state"}

# Which rankings need a grammar (depth), and which the held-out stream (labels).
NEEDS_DEPTH, NEEDS_HELDOUT = ("depth", "probe weight"), ("label score",)

READING_NOTES = {"in context": "in context (the state carried from the stream's start)",
                 "from the zero state": "from the zero state (a fresh start at the window's first character)"}


class AppState(RowsState):
    model_path = param.Selector(objects=[], label="Model (checkpoint)")
    source = param.Selector(default="held-out", objects=list(SOURCES), label="Sequence from")
    # allow_None: an emptied box sends None, which is refused with the range like any bad number
    index = param.Integer(default=0, allow_None=True, label="Held-out index")
    window = param.Integer(default=opening_window(False), allow_None=True, label="Window (chars)")
    reading = param.Selector(default="in context", objects=READINGS, label="Read the window")
    random = param.Event(label="Random window")
    # A text file to read as the held-out stream instead of the model's own (empty: the model's own)
    heldout_file = param.String(default="", label="Held-out text file (empty: the model's own stream)")
    heldout_range = param.String(default="", label="Its characters START:END (empty: all)")
    heldout_key = param.Parameter(default=None, precedence=-1,
                                  doc="the file read as the held-out stream (cache.stream_key; None: the model's own)")
    text = param.String(default="", label="Text (typed or pasted)")
    sample_chars = param.Integer(default=300, allow_None=True, label="Sample length")
    temperature = param.Number(default=1.0, allow_None=True, step=0.05, label="Temperature")
    seed = param.Integer(default=0, allow_None=True, label="Sample seed")
    sample = param.Event(label="Sample from the model")

    view = param.Selector(default="h", objects=["h"], label="Show")
    layer = param.Selector(default=0, objects=[0], label="Layer")
    hide_separators = param.Boolean(default=False, label="Hide separators (tokens side by side)")

    divergence = param.Parameter(default=None, precedence=-1,
                                 doc="the trace against the grammar's oracle (None: not a grammar model)")
    probe = param.Parameter(default=None, precedence=-1,
                            doc="each layer's depth probe read on the trace (probe_track.py; None: a text model)")
    sequence_note = param.String(default="", doc="what the sequence is, and where it leaves the grammar")
    model_note = param.String(default="", doc="the loaded model in one line")
    text_model = param.Boolean(default=False, precedence=-1,
                               doc="the model shown reads text (no grammar, no task): a longer window, its text beside")

    CELLS_NAME = "this model's cells"
    COLUMNS_MOVE_WITH = ("trace", "hide_separators")

    def __init__(self, model_path: str | Path | None = None, **params):
        model_path = str(Path(model_path).resolve()) if model_path else default_model()
        # A source named by the caller is the one shown first (or the reason it cannot be);
        # otherwise a model without a held-out stream starts on typed text.
        self._fallback = "source" not in params
        super().__init__(**params)
        self._rng = np.random.default_rng()
        self._good_model = None
        self._left_task = False       # the model shown before was a task model (sum3)
        self._restoring = False
        self._shown: dict = {}        # index and window of the held-out sequence on screen
        # The window the page chose (None: the caller named one): while the window is still it, it follows
        # the model shown to that model's own (sequence_boxes.opening_window); one chosen since stays.
        self._opening_window = None if "window" in params else self.window
        # a held-out file named here is read now
        if (key := cache.stream_key(sequences.given_heldout(self.heldout_file, self.heldout_range))) is not None:
            sequences.heldout_stream(model_path, key)
        self.heldout_key = key
        self.param.watch(self._keep_sample_settings, ["sample_chars", "temperature", "seed"])
        self.param.model_path.objects = find_checkpoints(model_path)
        self.model_path = model_path
        self._switch_model()
        self._fallback = True
        if self.trace is None:
            raise RnnscopeError(self.refusal or f"{model_path}: could not show any sequence")

    # --- model -------------------------------------------------------------------------
    @param.depends("model_path", watch=True)
    def _switch_model(self):
        if self.model_path == self._good_model:
            return
        previous = self._good_model
        try:
            model = cache.load_model(self.model_path)
            spec = sequences.grammar_spec(self.model_path)
        except RnnscopeError as e:
            self.refuse(str(e))
            if self._good_model is not None:
                self.model_path = self._good_model      # the selector snaps back to the model still shown
            return
        self._good_model, self._model, self._spec = self.model_path, model, spec
        cfg = model.config
        self.model_note = describe_model(model) + ("" if spec is not None else
                                                   "; no depth probe track: text has no depth to probe for")
        views = ["h", *{"gru": ("z", "r", "n"), "lstm": ("i", "f", "g", "o", "c")}.get(cfg.cell, ())]
        self.param.view.objects = {f"{v}: {VIEW_LABELS[v]}": v for v in views}
        self.param.layer.objects = {f"layer {k}": k for k in range(cfg.num_layers)}
        self.param.selected.objects = {f"cell {c}": c for c in range(cfg.hidden_size)}
        self.text_model = spec is None and not cfg.task
        with param.discard_events(self):
            self.view = self.view if self.view in views else "h"
            self.layer = self.layer if self.layer < cfg.num_layers else 0
            self.selected = [c for c in self.selected if c < cfg.hidden_size]
        if self.window == self._opening_window:
            # Not under discard_events: the sidebar's box follows the window only through its event (it kept
            # showing 100 over a 2,000-character text window). _restoring: no load yet, the one below does.
            self._restoring = True
            try:
                self.window = self._opening_window = opening_window(self.text_model)
            finally:
                self._restoring = False
        dropped = self._resolve_stream()
        self._offer_orders_and_filters()
        if dropped:
            self.model_note += f"; the held-out file given was dropped: {dropped}"
        if self.source == "held-out" and not self._stream and self._fallback:
            self.source = "typed"
        # A task model reads its own short sequences from the zero state: start on a new one, and
        # leaving it go back to the held-out stream (its digits mean nothing to another model)
        with param.discard_events(self):
            if cfg.task:
                self.param.update(source="typed", text=sequences.task_example(model))
            elif self._left_task and self._stream:
                self.source = "held-out"
        self._left_task = bool(cfg.task)
        if not self._load():
            self._open_on_own_stream(previous)

    def _resolve_stream(self) -> str:
        """The held-out stream of the model shown: the file given to the page, else its own. A given file
        the new model cannot read is dropped (returns why) and the model's own stream is used."""
        dropped = ""
        if self.heldout_key is not None:
            try:
                self._stream, self._no_stream = sequences.heldout_stream(self.model_path, self.heldout_key), ""
                return ""
            except (RnnscopeError, OSError) as e:
                dropped, self.heldout_key = str(e), None
                with param.discard_events(self):
                    self.param.update(heldout_file="", heldout_range="")
        try:
            self._stream, self._no_stream = sequences.heldout_stream(self.model_path), ""
        except (RnnscopeError, OSError) as e:
            self._stream, self._no_stream = "", str(e)
        return dropped

    @param.depends("heldout_file", "heldout_range", watch=True)
    def _on_heldout_file(self):
        """A file (and range) given as the held-out stream, read and checked at once; the page shows its start,
        in context. Refused: the boxes go back to what is in effect and nothing else changes."""
        if self._restoring:
            return
        try:
            key = cache.stream_key(sequences.given_heldout(self.heldout_file, self.heldout_range))
            stream = sequences.heldout_stream(self.model_path, key)
        except (RnnscopeError, OSError) as e:
            self.refuse(f"held-out file: {e}")
            return self._restore_heldout_boxes()
        previous = (self.heldout_key, self._stream, self._no_stream, self.source, self.index)
        self.heldout_key, self._stream, self._no_stream = key, stream, ""
        with param.discard_events(self):
            self.param.update(source="held-out", index=0)
        if not self._load():    # the trace shown stays, and so do the boxes that made it
            self.heldout_key, self._stream, self._no_stream, source, index = previous
            with param.discard_events(self):
                self.param.update(source=source, index=index)
            return self._restore_heldout_boxes()
        self._offer_orders_and_filters()        # label scores may now be had (or no longer)

    def _restore_heldout_boxes(self) -> None:
        self._restoring = True
        try:
            self.param.update(**sequences.heldout_boxes(self.heldout_key))
        finally:
            self._restoring = False

    def _open_on_own_stream(self, previous: str | None) -> None:
        """The new model cannot read the sequence on screen (typed text with characters outside its
        vocabulary, a held-out index past its stream): it opens on its own held-out stream and the
        page says why; a model with no stream to open on is refused and the previous one stays.
        Never the old trace under the new model's name."""
        if previous is None:
            return          # the first model: what was asked for is refused, and __init__ raises with why
        why = self.refusal
        what = {"held-out": f"held-out window at {self.index:,}", "typed": "typed text",
                "sampled": "sample"}[self.source]
        name = Path(self.model_path).name
        if self._stream:
            with param.discard_events(self):
                self.param.update(source="held-out", index=0)
            if self._load():
                self.param.update(error=f"{name} cannot read the {what} ({why}): it was dropped, and the page "
                                        "shows the start of this model's held-out stream instead.")
                return
            why = self.refusal
        self._good_model = None        # reload the previous model whole (views, stream, orders)
        self.model_path = previous
        self.param.update(error=f"{name} cannot read the {what} ({why}) and has no held-out stream to show "
                                f"instead: the page still shows {Path(previous).name}.",
                          refusal=why)

    def _offer_orders_and_filters(self) -> None:
        """Only the orders and row filters that mean something for this model; a choice the new
        model cannot take goes back to index order / all cells, and the model note says so."""
        has_depth, has_heldout = self._spec is not None, bool(self._stream)
        orders = orders_for(has_depth, has_heldout)
        filters = [f for f in FILTERS if (TOP_K.get(f) not in NEEDS_DEPTH or has_depth)
                   and (TOP_K.get(f) not in NEEDS_HELDOUT or has_heldout)]
        self.param.order.objects, self.param.rows.objects = orders, filters
        said = []
        with param.discard_events(self):
            if self.order not in orders:
                said.append(f"order by {self.order} does not apply to this model: rows in index order")
                self.order = "index"
            if self.rows not in filters or self._row_filter_refusal():
                said.append(f"the row filter ({self.rows}) does not apply to this model: all cells shown")
                self.rows = ALL
        if said:
            self.model_note += "; " + "; ".join(said)

    # --- rows ----------------------------------------------------------------------------
    def cell_count(self) -> int:
        return self._model.config.hidden_size

    @property
    def shown_layer(self) -> int:
        return self.layer

    def show_cells(self, cells, layer: int = 0) -> None:
        """Plot ``cells`` of ``layer``: the heatmap switches to that layer."""
        cells = [int(c) for c in cells]
        self.param.update(layer=layer, selected=[c for c in self.selected if c not in cells] + cells)

    def rankings(self) -> dict[str, np.ndarray]:
        """The model's rankings of its cells that the order and the row filter in use need, best
        first: by label score (app/cache.cell_labels: held-out text read in context, the shown view
        and layer) and by the depth probe's |weight| (on h of the shown layer). Computed only when
        asked for: labelling takes seconds the first time."""
        need = {self.order, TOP_K.get(self.rows)}
        n = self._model.config.hidden_size
        out = {}
        if "label score" in need and self._stream:
            labels = cache.cell_labels(self.model_path, self.view, self.layer, cache.LABEL_CHARS, self.heldout_key)[0]
            out["label score"] = label_score_ranking(labels, n)
        if "probe weight" in need and self._spec is not None:
            from rnnscope.analysis.decode.probes import rank_cells
            probe = cache.depth_probe(self.model_path, self.layer, cache.LABEL_CHARS, self.heldout_key)
            if probe.model is not None:        # one class in training: no weights to rank by
                out["probe weight"] = rank_cells(probe.model[-1].coef_)
        return out

    # --- sequence ------------------------------------------------------------------------
    @param.depends("index", "window", "reading", watch=True)
    def _on_window(self):
        if not self._restoring:
            self._load_from("held-out")

    @param.depends("random", watch=True)
    def _on_random(self):
        if not self._stream:
            return self.refuse(self._no_stream or "this model has no held-out stream to pick from")
        self.param.update(index=sequences.random_index(len(self._stream), self.window, self._rng))

    @param.depends("text", watch=True)
    def _on_text(self):
        self._load_from("typed")

    @param.depends("sample", watch=True)
    def _on_sample(self):
        self._load_from("sampled")

    def _keep_sample_settings(self, *events) -> None:
        """A sample length, temperature or seed outside its range is refused as it is entered,
        and the box snaps back to the value the next sample will use."""
        for event in events:
            why = self._number_refusal(event.name)
            if why:
                self.refuse(why)
                setattr(self, event.name, event.old)

    def _number_refusal(self, name: str) -> str:
        """Why the number box ``name`` holds a value it cannot take ('' when it can)."""
        return number_refusal(name, getattr(self, name), len(self._stream))

    def _load_from(self, source: str) -> None:
        """Load from ``source``; a refused sequence changes nothing: the source, index and
        window snap back to those of the sequence still shown."""
        good = {"source": self.source, "index": self._shown.get("index", self.index),
                "window": self._shown.get("window", self.window)}
        self.source = source
        if self._load():
            return
        self._restoring = True
        try:
            self.param.update(**good)
        finally:
            self._restoring = False

    def _sequence(self) -> tuple[str, str]:
        if self.source == "held-out":
            if not self._stream:
                raise RnnscopeError(self._no_stream or "this model has no held-out stream")
            why = self._number_refusal("index") or self._number_refusal("window")
            if why:
                raise RnnscopeError(why)
            text = sequences.window(self._stream, self.index, self.window)
            short = (f" (the stream ends there: {len(text):,} of the {self.window:,} characters asked for)"
                     if len(text) < self.window else "")
            whose = "" if self.heldout_key is None else f" of {Path(self.heldout_key[0]).name}"
            span = f"characters {self.index:,} .. {self.index + len(text) - 1:,}{short}"
            return text, f"held-out stream{whose}, {span}, read {READING_NOTES[self.reading]}"
        if self.source == "typed":
            return sequences.check_typed(self.text, list(self._model.config.vocab)), "typed text"
        prime, how = sequences.app_prime(self._model, self._stream)
        text = sequences.sampled(self._model, self.sample_chars, self.temperature, self.seed, prime)
        return text, (f"sampled: {len(text):,} chars at temperature {self.temperature:g}, seed {self.seed}, "
                      f"prime {how}")

    def _load(self) -> bool:
        """Trace the sequence ``source`` names; False (and a message) when it is refused."""
        try:
            text, what = self._sequence()
            trace = self._trace(text)
        except RnnscopeError as e:
            self.refuse(str(e))
            return False
        start_depth = 0
        if self.source == "held-out" and self._spec is not None:
            depth = trace.annotations["depth"]
            start_depth = int(depth[0]) - (text[0] == "(") + (text[0] == ")")
        note = sequences.grammar_note(text, self._spec, start_depth)
        if self.source == "held-out":
            self._shown = {"index": self.index, "window": self.window}
        self.param.update(error="", refusal="", sequence_note=f"{what} ({len(text):,} characters); {note}",
                          first_position=self.index if self.source == "held-out" else 0,
                          divergence=self._divergence(trace, start_depth),
                          probe=None if self._spec is None else probe_track(self.model_path, trace, self.heldout_key),
                          trace=trace)
        return True

    def _divergence(self, trace, start_depth: int):
        """KL(oracle || model) and illegal mass per step: a held-out window's oracle is the stream's
        own (its true depth); other text's is counted from ``start_depth`` and ends where it breaks."""
        if self._spec is None:
            return None
        if self.source == "held-out":
            oracle = cache.held(self.model_path, self.heldout_key).oracle[self.index:self.index + len(trace)]
        else:
            oracle = grammar.next_char_probs(trace.text, self._spec, start_depth)
        return oracle_divergence(trace.probs, trace.vocab, oracle, self._spec.alphabet)

    def _trace(self, text: str):
        """The trace of ``text``; a held-out window carries the stream's own annotations
        (counted from its start) and is read as ``reading`` says."""
        if self.source != "held-out":
            return cache.trace_text(self.model_path, text, self._spec)
        if self.reading == "in context":
            return cache.trace_in_context(self.model_path, self.index, len(text), self.heldout_key)
        ann = sequences.heldout_annotations(self.model_path, self.index, len(text), self.heldout_key)
        # the cached trace is shared: never mutate it
        return dataclasses.replace(cache.trace_text(self.model_path, text, self._spec), annotations=ann)

    @property
    def grammar_spec(self):
        """The grammar the shown model was trained on (None: a model of other text)."""
        return self._spec


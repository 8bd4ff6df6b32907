"""One loaded model, resolved once: the torch module, its config, training record, data (grammar or
text) and held-out stream. Everything the API, the command line and a notebook ask of a model goes
through here, so no file is read twice."""
from __future__ import annotations

import functools
from pathlib import Path

from rnnscope.api.analysis import Analysis
from rnnscope.api.automaton import Automata
from rnnscope.api.dynamics import Dynamics
from rnnscope.api.evaluation import Evaluation
from rnnscope.api.store import Storing
from rnnscope.base.errors import RnnscopeError
from rnnscope.base.heldout_defaults import LABEL_CHARS


class Model(Evaluation, Analysis, Storing, Automata, Dynamics):
    """A checkpoint, loaded. Make one with :func:`rnnscope.load` (or :func:`rnnscope.train`, an import ...).
    Its verbs live by group: reading and labelling here; sample, evaluate, summary, weights in
    rnnscope/api/evaluation.py; explain, match, compare in rnnscope/api/analysis.py; build_store,
    open_store in rnnscope/api/store.py; automaton in rnnscope/api/automaton.py; fixed_points, projection in
    rnnscope/api/dynamics.py.

    Attributes: ``path`` (the checkpoint directory), ``name`` (its folder name), ``ref`` (the name or path
    it was loaded by, as given), ``module`` (the torch
    ``CharRNN``, in eval mode), ``config`` (its ``ModelConfig``), ``training`` (the training record, a
    dict), ``spec`` (the grammar it was trained on, or None for a model of text), ``heldout_given`` (the
    held-out text it was loaded with, a ``HeldoutText``, or None: the one the checkpoint records)."""

    def __init__(self, module, path: Path, ref: str | None = None, heldout=None):
        from rnnscope.models.data.batches import grammar_spec_of
        self.module, self.path, self.name = module, Path(path), Path(path).name
        self.heldout_given = heldout
        self.ref = str(path) if ref is None else ref
        self.config = module.config
        self.training: dict = module.training_record or {}
        self.spec = None if self.config.task else grammar_spec_of(self.training, self.config.vocab)

    def __repr__(self) -> str:
        return f"<rnnscope.Model {self.name}: {self.config.describe()}>"

    # --- what the model is ------------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        """Stacked recurrent layers."""
        return self.config.num_layers

    @property
    def hidden_size(self) -> int:
        """Cells per layer."""
        return self.config.hidden_size

    @property
    def vocab(self) -> list[str]:
        """The characters, in index order."""
        return list(self.config.vocab)

    @property
    def views(self) -> list[str]:
        """What a trace shows per layer: ``"h"``, then the gates (GRU ``z r n``; LSTM ``i f g o c``)."""
        from rnnscope.models.reading.compiled import VIEW_ORDER
        return ["h", *VIEW_ORDER.get(self.config.cell, ())]

    def check_layer(self, layer: int, flag: str = "layer", whose: str = "this") -> int:
        """``layer`` if this model has it; else RnnscopeError naming ``flag`` and the layers there are."""
        if not 0 <= layer < self.num_layers:
            raise RnnscopeError(f"{flag} {layer} does not exist; {whose} model's layers are 0 .. {self.num_layers - 1}")
        return layer

    def check_cells(self, cells: list[int]) -> list[int]:
        """``cells`` if each is a cell of a layer; else RnnscopeError listing the ones that are not."""
        bad = [c for c in cells if not 0 <= c < self.hidden_size]
        if bad:
            raise RnnscopeError(f"cells {bad} do not exist; this model's cells are 0 .. {self.hidden_size - 1}")
        return list(cells)

    def check_text(self, text: str) -> str:
        """``text`` if the page could trace it (not empty, at most the page's 200,000 characters, every character in
        the vocabulary); else RnnscopeError in the page's own words."""
        from rnnscope.models.reading.window import check_typed
        return check_typed(text, self.vocab)

    @staticmethod
    def check_window(window: int) -> int:
        """``window`` if the page could show a held-out window that long (1 .. MAX_CHARS); else RnnscopeError."""
        from rnnscope.models.reading.window import MAX_CHARS
        if not 1 <= window <= MAX_CHARS:
            raise RnnscopeError(f"window must be between 1 and {MAX_CHARS:,}, got {window}")
        return window

    @property
    def run_dir(self) -> Path:
        """The training run beside the checkpoint (OUT.run: run.json, metrics, resumable state)."""
        from rnnscope.models.training.run import run_dir_of
        return run_dir_of(self.path)

    def check_predicts(self, what: str) -> None:
        """Refuse a task model (no decoder: it predicts a sum, not the next character)."""
        if self.module.decoder is None:
            raise RnnscopeError(f"{self.path}: a {self.config.task} model predicts a sum, not the next character: "
                                f"nothing to {what}; see what it learned with rnnscope weights")

    # --- its data, resolved once ------------------------------------------------------------------------
    @functools.cached_property
    def heldout(self):
        """The held-out stream (models/data/heldout.py ``HeldOut``: ``.text``, ``.annotations`` [T] each,
        ``.oracle`` [T, alphabet] for a grammar, ``.origin`` where it comes from): the text the model was
        loaded with (``load(..., heldout=FILE)``), else the one it records. RnnscopeError when there is none."""
        from rnnscope.models.data.heldout import heldout_of
        return heldout_of(self.path, self.heldout_given)

    @functools.cached_property
    def reader(self):
        """A StreamReader over the held-out stream: windows read in context, states kept every 1,000 chars."""
        from rnnscope.models.reading.context import StreamReader
        return StreamReader(self.module, self.heldout.text, self.heldout.annotations)

    def heldout_chars(self, chars: int | None, default: int = LABEL_CHARS) -> int:
        """How many held-out characters a method reads: ``chars`` as given, checked where it is used and never
        cut; for None, ``default`` -- or the whole held-out stream when it is shorter: a researcher's own text
        often is, and all of it is what they mean."""
        return min(default, len(self.heldout.text)) if chars is None else chars

    def heldout_trace(self, chars: int | None = None):
        """The first ``chars`` of the held-out stream (None: see ``heldout_chars``) read from its start (so in
        context), and its annotations (analysis/describe/annotations.py ``Annotations``): what labels and probes
        are computed on. More characters than the stream holds are refused."""
        n = self.heldout_chars(chars)
        if n < 1:
            raise RnnscopeError(f"read at least 1 held-out character, got {n}")
        if n > len(self.heldout.text):
            raise RnnscopeError(f"asked for {n:,} held-out characters; the held-out stream ({self.heldout.origin}) "
                                f"has {len(self.heldout.text):,}: ask for fewer, or give a longer text")
        return self._first_of_heldout(n)

    @functools.lru_cache(maxsize=2)     # noqa: B019  (one Model per load; the cache dies with it)
    def _first_of_heldout(self, n: int):
        from rnnscope.analysis.decode.probing import annotations_of
        from rnnscope.models.reading.tracer import trace
        return trace(self.module, self.heldout.text[:n]), annotations_of(self.heldout, n)

    @functools.lru_cache(maxsize=2)     # noqa: B019
    def depth_probes(self, chars: int | None = None) -> list:
        """Per layer, the linear probe of depth on h (analysis/decode/probes.train_probe), trained and scored
        on the held-out stream read in context: the probe track under a grammar model's heatmap."""
        from rnnscope.analysis.decode.probes import train_probe
        tr, ann = self.heldout_trace(chars)
        target = ann["depth_level"]
        return [train_probe(h, target.values, target.name, target.categories) for h in tr.hidden]

    # --- reading and analysing ----------------------------------------------------------------------------
    def trace(self, text: str | None = None, *, index: int | None = None, window: int = 100,
              from_zero_state: bool = False):
        """Read a sequence; returns a :class:`rnnscope.Trace` (arrays steps x cells).

        ``text``: any text in the vocabulary, read from the zero state. Or ``index``: the window of
        ``window`` characters of the held-out stream starting there, read in context (the state the
        model holds there after reading the stream from its start), or ``from_zero_state``."""
        from rnnscope.api.trace import Trace
        from rnnscope.models.reading.tracer import trace
        from rnnscope.models.reading.window import read_window, window_note
        if (text is None) == (index is None):
            raise RnnscopeError("give the text to read, or index= for a window of the held-out stream (not both)")
        if text is not None:
            return Trace(trace(self.module, text, self.spec), self, "typed text")
        tr = read_window(self.reader, index, window, in_context=not from_zero_state)
        return Trace(tr, self, window_note(index, len(tr), window, not from_zero_state), index=index,
                     in_context=not from_zero_state)

    def label_cells(self, chars: int | None = None, views: list[str] | None = None, layers: list[int] | None = None):
        """A label for every cell, on the first ``chars`` held-out characters read in context (None: 100,000, or
        the whole stream when it is shorter): a pandas
        DataFrame, one row per (layer, view, cell), best explained first within each layer and view, with
        columns layer, view, cell, label, annotation, value, stat ("r": Pearson; "MI": mutual information
        in bits; "CMI": conditional MI given the current character), score, explained (r squared, or MI /
        entropy of the binned cell), given ("char" for a label beyond the current character), tested_mi and
        null_99 (the MI held against the shuffle null, and its 99th percentile), plain_label, mean, std
        (docs/methods.md, Labels)."""
        import pandas as pd

        from rnnscope.analysis.describe.labels import annotation_codes, label_cells
        from rnnscope.models.reading.trace import value_range
        tr, ann = self.heldout_trace(chars)
        codes, rows = annotation_codes(ann), []
        for layer in layers if layers is not None else range(self.num_layers):
            for view in views or tr.views:
                values = tr.values(view, self.check_layer(layer))
                rows += [{"layer": layer, "view": view, **lab.to_dict()}
                         for lab in label_cells(values, ann, value_range(view, values), codes)]
        columns = ["layer", "view", "cell", "label", "annotation", "value", "stat", "score", "explained", "given",
                   "tested_mi", "null_99", "plain_label", "mean", "std"]
        return pd.DataFrame(rows, columns=columns)

    def probe(self, chars: int | None = None, ablation_chars: int = 20_000, causal: list[str] | None = None):
        """Everything ``rnnscope probe`` computes (labels, ablation, best cells, linear probes beside their
        references, oracle divergence, saturation, causal codes) on the first ``chars`` held-out characters
        read in context (None: 100,000, or the whole stream when it is shorter); the ablation re-runs the first
        ``ablation_chars``; ``causal``: the annotations to find causal codes of by interchange (default: depth
        for a grammar model; in_string, bracket_depth and indentation for text; [] for none). Returns a
        :class:`ProbeReport`."""
        from rnnscope.analysis.decode.probing import probing_run
        from rnnscope.api.reports import ProbeReport
        return ProbeReport(probing_run(self.module, self.heldout, chars=self.heldout_chars(chars),
                                       ablation_chars=ablation_chars, causal=None if causal is None else tuple(causal)),
                           f"rnnscope probe: {self.name}")


def load(model: str | Path, device: str = "cpu", heldout: str | Path | None = None,
         heldout_range: str | tuple | None = None) -> Model:
    """Load a model: a shipped name (``"gru15-parens"``; see :func:`rnnscope.shipped_models`) or a checkpoint
    directory. ``device``: "cpu", "cuda", "cuda:N" or "auto". A missing or corrupt checkpoint raises
    CheckpointError naming the file and what is wrong.

    ``heldout``: a UTF-8 text file to use as the held-out stream instead of the one the checkpoint records
    (any model: one imported with no text, or a new text for a trained one); ``heldout_range``: only its
    characters START:END ("1000:50000", ":50000", or a (start, end) pair; end exclusive). It is read and
    checked here, once: a character outside the vocabulary is refused with its position, never dropped."""
    from rnnscope.api.loading import resolve
    from rnnscope.base.runtime import pick_device
    from rnnscope.models.data.heldout_text import HeldoutText
    from rnnscope.models.network import checkpoint
    if heldout is None and heldout_range is not None:
        raise RnnscopeError("a held-out range goes with a held-out file (heldout=FILE, --heldout FILE)")
    path = resolve(model)
    given = None if heldout is None else HeldoutText.of(heldout, heldout_range)
    m = Model(checkpoint.load(path, pick_device(device)), path, str(model), given)
    if given is not None:
        m.heldout       # noqa: B018  (resolved on load: a file the model cannot read is refused now)
    return m

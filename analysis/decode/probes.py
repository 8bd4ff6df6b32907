"""Linear probes (diagnostic classifiers, Hupkes et al. 2018): can a target -- depth, the kind
of the next token -- be read linearly from a layer's states, and from how few cells?

A probe is scikit-learn's multinomial logistic regression on standardised states, trained on
the first part of a stream and scored on the rest: neighbouring characters are correlated, so
shuffled characters would leak. Every accuracy stands beside three references computed the
same way (docs/methods.md, Probes):

- majority: the most frequent training class, scored on the test part;
- input only: the same probe on the one-hot of the current character (what the input alone
  gives away; depth from the current char is ~0.39 on the default stream);
- control (Hewitt & Liang 2019): every character type gets a random label, fixed per type and
  drawn from the target's own class frequencies; selectivity = accuracy - control accuracy.
  With 8 character types the control is nearly as easy as knowing the current character, so
  its selectivity is small by nature; it is reported as it is, never weakened.

Cells are ranked by the probe's weights (NeuroX, Dalvi et al. 2019: the largest |weight| over
classes, on standardised states), and probes retrained on the k best cells give the
accuracy-vs-k curve and ``cells_needed_99``: the smallest measured k reaching 99% of the full
probe's accuracy. Every k is measured up to 32 cells; a wider layer is measured at 1 .. 8 and then
at every power of two (a 128-cell layer: 11 refits instead of 43, the cost of its Probes tab).

For text, an n-gram baseline stands beside them (analysis/decode/ngram.py): the same probe on the
last k characters, k in NGRAM_KS.

The fits of one probe are independent: they run side by side on threads (scikit-learn's solver spends
its time in NumPy and SciPy, which let go of the GIL), each on one BLAS thread.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from rnnscope.analysis.describe.annotations import MISSING

TRAIN_SHARE = 0.5
MAX_ITER = 100            # saturated states are near separable: more iterations only grow weights
EVERY_K_UP_TO = 32        # the accuracy-vs-k curve measures every k up to here; a wider layer, a grid
WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class ProbeResult:
    target: str
    accuracy: float
    majority_accuracy: float
    input_baseline_accuracy: float
    control_accuracy: float
    cell_order: list[int]                       # best first, by |weight|
    accuracy_by_k: list[float] | None           # [k-1]: the probe on the k best cells (None: not measured yet)
    cells_needed_99: int | None
    train_chars: int
    test_chars: int
    classes: list[str] = field(default_factory=list)
    char_types: int = 0                         # distinct characters: what the control task labels
    ngram_accuracy: list[dict] | None = None    # [{k, accuracy}]: the probe on the last k characters (text)

    @property
    def selectivity(self) -> float:
        return self.accuracy - self.control_accuracy

    def to_dict(self) -> dict:
        r = {k: getattr(self, k) for k in ("target", "accuracy", "majority_accuracy", "input_baseline_accuracy",
                                           "control_accuracy", "selectivity", "cells_needed_99", "cell_order",
                                           "accuracy_by_k", "train_chars", "test_chars", "classes", "char_types")}
        ngram = (None if self.ngram_accuracy is None else
                 [{"k": g["k"], "accuracy": round(g["accuracy"], 4)} for g in self.ngram_accuracy])
        by_k = None if self.accuracy_by_k is None else [round(a, 4) for a in self.accuracy_by_k]
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} | {
            "accuracy_by_k": by_k, "ngram_accuracy": ngram}


def fit(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0, centre: bool = True):
    """The probe, standardisation then logistic regression, fitted on the training part (needs two classes).
    ``centre=False`` for a sparse input (the n-gram baseline): scaled only, which leaves the fit the same."""
    probe = make_pipeline(StandardScaler(with_mean=centre), LogisticRegression(max_iter=MAX_ITER, random_state=seed))
    # One BLAS thread: these matrices are small, and on 2 busy cores OpenBLAS's spinning
    # threads made each fit ~8x slower (measured: 7.0 s against 0.9 s for one probe).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)   # separable saturated states: the score stands
        probe.fit(x_train, y_train)
    return probe


def fit_score(x_train, y_train: np.ndarray, x_test, y_test: np.ndarray, seed: int = 0,
              centre: bool = True) -> tuple[float, np.ndarray]:
    """Test accuracy of a probe trained on the training part, and its weights [classes, D] on
    standardised inputs (a class seen only once still counts)."""
    if len(np.unique(y_train)) < 2:          # one class: nothing to fit, the majority answers
        return float((y_test == y_train[0]).mean()), np.zeros((1, x_train.shape[1]))
    probe = fit(x_train, y_train, seed, centre)
    return float(probe.score(x_test, y_test)), probe[-1].coef_


def run_all(jobs: list[Callable]) -> list:
    """Each job's result, in order: side by side on up to WORKERS threads, one BLAS thread each. The warning
    filter is set here, once: ``catch_warnings`` is not thread-safe, and a fit's own, left while another thread's
    is open, would put back a state without it."""
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if WORKERS == 1 or len(jobs) < 2:
            return [job() for job in jobs]
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="rnnscope-probe") as pool:
            return list(pool.map(lambda job: job(), jobs))


def curve_ks(D: int) -> list[int]:
    """The cell counts of the accuracy-vs-k curve for a layer of D cells (D itself included)."""
    if D <= EVERY_K_UP_TO:
        return list(range(1, D + 1))
    return sorted({*range(1, 9), *(2 ** p for p in range(4, int(np.log2(D)) + 1) if 2 ** p < D), D})


@dataclass(frozen=True)
class TrainedProbe:
    """A probe kept to read other states (the page's probe track): fitted on the first part of a
    stream and scored on the rest, exactly as ``probe`` does."""
    target: str
    accuracy: float                     # on the test part
    train_chars: int
    test_chars: int
    classes: tuple[str, ...]            # the name of each class code
    model: object                       # the fitted pipeline; None when training saw one class
    only_class: int = 0                 # that class

    def predict(self, states: np.ndarray) -> np.ndarray:
        """[T] class codes for ``states`` [T, D]."""
        if self.model is None:
            return np.full(len(states), self.only_class)
        with threadpool_limits(limits=1):
            return self.model.predict(np.asarray(states))


def train_probe(states: np.ndarray, target: np.ndarray, name: str = "target", classes: tuple[str, ...] = (),
                seed: int = 0) -> TrainedProbe:
    """The probe of ``probe`` (same split, same fit) kept for prediction, without the references."""
    states, target = np.asarray(states), np.asarray(target)
    keep = target != MISSING
    states, target = states[keep], target[keep]
    split = int(len(target) * TRAIN_SHARE)
    if split < 2 or len(target) - split < 1:
        raise ValueError(f"{name}: {len(target)} annotated characters are too few to train and test a probe")
    x_train, y_train, x_test, y_test = states[:split], target[:split], states[split:], target[split:]
    if len(np.unique(y_train)) < 2:
        return TrainedProbe(name, float((y_test == y_train[0]).mean()), split, len(target) - split,
                            tuple(classes), None, int(y_train[0]))
    model = fit(x_train, y_train, seed)
    return TrainedProbe(name, float(model.score(x_test, y_test)), split, len(target) - split, tuple(classes), model)


def control_labels(char_codes: np.ndarray, target: np.ndarray, seed: int = 0) -> np.ndarray:
    """Hewitt & Liang's control task: each character type gets one random label, drawn from the
    target's class frequencies, the same wherever the type occurs."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(target, return_counts=True)
    types = np.unique(char_codes)
    per_type = rng.choice(classes, size=len(types), p=counts / counts.sum())
    return per_type[np.searchsorted(types, char_codes)]


def probe(states: np.ndarray, target: np.ndarray, char_codes: np.ndarray, name: str = "target",
          classes: tuple[str, ...] = (), seed: int = 0, ks: list[int] | None = None,
          ngram_ks: tuple[int, ...] | None = None, curve: bool = True) -> ProbeResult:
    """Probe ``states`` [T, D] for ``target`` [T] (class codes; MISSING positions are left out),
    with the references beside it. ``char_codes`` [T]: the current character's code (any ints),
    for the input-only baseline and the control task. ``ks``: the cell counts of the
    accuracy-vs-k curve (default ``curve_ks``). ``ngram_ks``: the windows of the n-gram baseline
    (analysis/decode/ngram.py; None: none, as for the grammar). ``curve=False``: the probe and its
    references only (``accuracy_by_k`` and ``cells_needed_99`` None), the curve left to ``accuracy_curve``
    -- what the page shows first."""
    from rnnscope.analysis.decode.ngram import last_chars_onehot, ngram_jobs

    states, target, char_codes = np.asarray(states), np.asarray(target), np.asarray(char_codes)
    ngram = ngram_jobs(target, char_codes, ngram_ks or (), seed)      # windows over every character
    keep = target != MISSING
    all_states, all_target = states, target
    states, target, char_codes = states[keep], target[keep], char_codes[keep]
    split = _split(target, name)
    tr, te = slice(0, split), slice(split, None)
    # The current character's one-hot, sparse: the n-gram baseline's k = 1 (ngram.py says why it is not centred)
    onehot = last_chars_onehot(char_codes, 1)
    control = control_labels(char_codes, target, seed)

    def on(x, y, centre=True):
        return lambda: fit_score(x[tr], y[tr], x[te], y[te], seed, centre)
    # The full probe, the references and the n-gram windows first, side by side ...
    (accuracy, coef), (input_only, _), (control_accuracy, _), *windows = run_all(
        [on(states, target), on(onehot, target, centre=False), on(states, control), *ngram])
    classes_tr, counts = np.unique(target[tr], return_counts=True)
    majority = float((target[te] == classes_tr[np.argmax(counts)]).mean())

    # ... then the curve, which needs the full probe's ranking of the cells.
    order = [int(c) for c in rank_cells(coef)]
    by_k_full, needed = None, None
    if curve:
        by_k_full, needed = accuracy_curve(all_states, all_target, order, accuracy, name, seed, ks)
    return ProbeResult(name, accuracy, majority, input_only, control_accuracy, order, by_k_full,
                       needed, split, len(target) - split, list(classes), len(np.unique(char_codes)),
                       [{"k": k, "accuracy": a} for k, a in zip(ngram_ks, windows)] if ngram_ks else None)


def accuracy_curve(states: np.ndarray, target: np.ndarray, order: list[int], accuracy: float, name: str = "target",
                   seed: int = 0, ks: list[int] | None = None) -> tuple[list[float], int]:
    """``probe``'s accuracy-vs-k curve for every k = 1..D and ``cells_needed_99``: probes on the k best cells of
    ``order`` (the full probe's ranking), fitted and scored on the same split as it; ``accuracy`` the full
    probe's (k = D is not fitted again). Arguments as ``probe``'s."""
    states, target = np.asarray(states), np.asarray(target)
    keep = target != MISSING
    states, target = states[keep], target[keep]
    split = _split(target, name)
    tr, te = slice(0, split), slice(split, None)
    D = states.shape[1]
    ks = sorted(set(ks) | {D}) if ks else curve_ks(D)
    refits = run_all([(lambda x: lambda: fit_score(x[tr], target[tr], x[te], target[te], seed))(states[:, order[:k]])
                      for k in ks if k != D])
    measured = iter(refits)
    by_k = [accuracy if k == D else next(measured)[0] for k in ks]
    by_k_full = _step_curve(ks, by_k, D)
    return by_k_full, next(k for k in range(1, D + 1) if by_k_full[k - 1] >= 0.99 * accuracy)


def _split(target: np.ndarray, name: str) -> int:
    """Where the training part ends (TRAIN_SHARE of the annotated characters), or why there is too little."""
    split = int(len(target) * TRAIN_SHARE)
    if split < 2 or len(target) - split < 1:
        raise ValueError(f"{name}: {len(target)} annotated characters are too few to train and test a probe")
    return split


def rank_cells(coef: np.ndarray) -> np.ndarray:
    """Cells, best first, by their largest |weight| over classes (standardised inputs, so
    weights compare across cells); ties by cell number."""
    strength = np.abs(coef).max(axis=0)
    return np.lexsort((np.arange(len(strength)), -strength))


def _step_curve(ks: list[int], accuracies: list[float], D: int) -> list[float]:
    """Accuracy for every k = 1..D from the measured ks (a k between two measured ones gets the
    lower one's accuracy: it has at least those cells). The curve is only fitted at ``ks``."""
    out, j = [], 0
    for k in range(1, D + 1):
        while j + 1 < len(ks) and ks[j + 1] <= k:
            j += 1
        out.append(accuracies[j])
    return out

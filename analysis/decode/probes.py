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
accuracy-vs-k curve and ``cells_needed_99``: the smallest k reaching 99% of the full probe's accuracy.
"""
from __future__ import annotations

import warnings
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


@dataclass(frozen=True)
class ProbeResult:
    target: str
    accuracy: float
    majority_accuracy: float
    input_baseline_accuracy: float
    control_accuracy: float
    cell_order: list[int]                       # best first, by |weight|
    accuracy_by_k: list[float]                  # [k-1]: the probe on the k best cells
    cells_needed_99: int
    train_chars: int
    test_chars: int
    classes: list[str] = field(default_factory=list)

    @property
    def selectivity(self) -> float:
        return self.accuracy - self.control_accuracy

    def to_dict(self) -> dict:
        r = {k: getattr(self, k) for k in ("target", "accuracy", "majority_accuracy", "input_baseline_accuracy",
                                           "control_accuracy", "selectivity", "cells_needed_99", "cell_order",
                                           "accuracy_by_k", "train_chars", "test_chars", "classes")}
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} | {
            "accuracy_by_k": [round(a, 4) for a in self.accuracy_by_k]}


def fit(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0):
    """The probe, standardisation then logistic regression, fitted on the training part (needs two classes)."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER, random_state=seed))
    # One BLAS thread: these matrices are small, and on 2 busy cores OpenBLAS's spinning
    # threads made each fit ~8x slower (measured: 7.0 s against 0.9 s for one probe).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)   # separable saturated states: the score stands
        probe.fit(x_train, y_train)
    return probe


def fit_score(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
              seed: int = 0) -> tuple[float, np.ndarray]:
    """Test accuracy of a probe trained on the training part, and its weights [classes, D] on
    standardised inputs (a class seen only once still counts)."""
    if len(np.unique(y_train)) < 2:          # one class: nothing to fit, the majority answers
        return float((y_test == y_train[0]).mean()), np.zeros((1, x_train.shape[1]))
    probe = fit(x_train, y_train, seed)
    return float(probe.score(x_test, y_test)), probe[-1].coef_


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
          classes: tuple[str, ...] = (), seed: int = 0, ks: list[int] | None = None) -> ProbeResult:
    """Probe ``states`` [T, D] for ``target`` [T] (class codes; MISSING positions are left out),
    with the references beside it. ``char_codes`` [T]: the current character's code (any ints),
    for the input-only baseline and the control task. ``ks``: the cell counts of the
    accuracy-vs-k curve (default every k up to 32 cells, then a grid)."""
    states, target, char_codes = np.asarray(states), np.asarray(target), np.asarray(char_codes)
    keep = target != MISSING
    states, target, char_codes = states[keep], target[keep], char_codes[keep]
    split = int(len(target) * TRAIN_SHARE)
    if split < 2 or len(target) - split < 1:
        raise ValueError(f"{name}: {len(target)} annotated characters are too few to train and test a probe")
    tr, te = slice(0, split), slice(split, None)

    accuracy, coef = fit_score(states[tr], target[tr], states[te], target[te], seed)
    classes_tr, counts = np.unique(target[tr], return_counts=True)
    majority = float((target[te] == classes_tr[np.argmax(counts)]).mean())
    onehot = (char_codes[:, None] == np.unique(char_codes)[None, :]).astype(np.float32)
    input_only, _ = fit_score(onehot[tr], target[tr], onehot[te], target[te], seed)
    control = control_labels(char_codes, target, seed)
    control_accuracy, _ = fit_score(states[tr], control[tr], states[te], control[te], seed)

    order = rank_cells(coef)
    D = states.shape[1]
    grid = np.unique(np.geomspace(1, D, 12).round().astype(int))
    ks = sorted(set(ks) | {D}) if ks else sorted({*range(1, min(D, 32) + 1), *grid.tolist(), D})
    by_k = [accuracy if k == D else
            fit_score(states[tr][:, order[:k]], target[tr], states[te][:, order[:k]], target[te], seed)[0]
            for k in ks]
    by_k_full = _step_curve(ks, by_k, D)
    needed = next(k for k in range(1, D + 1) if by_k_full[k - 1] >= 0.99 * accuracy)
    return ProbeResult(name, accuracy, majority, input_only, control_accuracy, [int(c) for c in order], by_k_full,
                       needed, split, len(target) - split, list(classes))


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

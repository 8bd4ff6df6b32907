"""What each cell says about the automaton the network implements: the cell's mean in each state of the
extracted automaton, and how much of the cell's variance the state accounts for.

The statistic is the correlation ratio eta² = between-state sum of squares / total sum of squares, over held-out
states read in context, each paired with the automaton's state after the same character (the automaton run over
the same text from its start). 1 means the cell is a function of the automaton's state; 0 that its mean is the
same in every state. With S states and N characters, eta² of an unrelated cell is about (S − 1)/(N − 1), not 0,
so each value is shown beside a shuffle null: the 99th percentile of eta² with the states shuffled against the
cell (DRAWS shuffles; the states' counts kept).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnscope.base.errors import RnnscopeError
from rnnscope.grammar.dfa import Dfa

DRAWS = 200
LEVEL = 0.99


@dataclass(frozen=True)
class CellStates:
    """``means`` [H, S] each cell's mean in each automaton state (NaN where the state never occurs), ``counts``
    [S] characters in each state, ``eta2`` [H] the share of each cell's variance between states, ``null_99`` [H]
    the shuffle null's 99th percentile of it, ``chars`` how many characters."""
    means: np.ndarray
    counts: np.ndarray
    eta2: np.ndarray
    null_99: np.ndarray
    chars: int

    def ranking(self) -> np.ndarray:
        """Cells by eta², highest first (ties by cell number)."""
        return np.lexsort((np.arange(len(self.eta2)), -self.eta2))


def states_after(dfa: Dfa, text: str) -> np.ndarray:
    """[len(text)] the automaton's state after each character of ``text`` read from its start: the state a
    hidden state read in context after the same character stands for."""
    return dfa.run(text)[1:]


def cell_states(values: np.ndarray, states: np.ndarray, n_states: int, draws: int = DRAWS,
                seed: int = 0) -> CellStates:
    """``values`` [T, H] (held-out states read in context), ``states`` [T] the automaton's state after each of
    the same characters."""
    values, states = np.asarray(values, np.float64), np.asarray(states, np.int64)
    if values.ndim != 2 or states.shape != (len(values),):
        raise RnnscopeError(f"cell values [T, H] and one automaton state per character are needed, got "
                            f"{list(values.shape)} and {list(states.shape)}")
    if len(values) < 2:
        raise RnnscopeError(f"eta² needs at least 2 characters, got {len(values)}")
    counts = np.bincount(states, minlength=n_states)
    centred = values - values.mean(axis=0)
    total = (centred ** 2).sum(axis=0)
    eta2 = _between(centred, states, counts) / np.where(total > 0, total, 1.0)
    rng = np.random.default_rng(seed)
    null = np.stack([_between(centred, rng.permutation(states), counts) for _ in range(draws)])
    null_99 = np.quantile(null / np.where(total > 0, total, 1.0), LEVEL, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (_sums(values, states, n_states) / counts[:, None]).T
    return CellStates(means, counts, np.where(total > 0, eta2, 0.0), np.where(total > 0, null_99, 0.0), len(values))


def _sums(values: np.ndarray, states: np.ndarray, n_states: int) -> np.ndarray:
    """[S, H] the sum of each cell's values in each state."""
    return np.stack([np.bincount(states, weights=col, minlength=n_states) for col in values.T], axis=1)


def _between(centred: np.ndarray, states: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """[H] the between-state sum of squares of mean-centred values: sum over states of n_s · mean_s²."""
    sums = _sums(centred, states, len(counts))
    return ((sums ** 2) / np.where(counts > 0, counts, 1)[:, None]).sum(axis=0)

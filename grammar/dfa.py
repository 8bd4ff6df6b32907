"""A deterministic finite automaton as plain arrays: the one type the grammar's own automaton
(automaton.py) and the automata extracted from a network (analysis/automaton/) share, so that the
two can be compared state for state. It lives here, in the lowest layer that needs one.

States are numbered 0..n-1, the alphabet is a tuple of characters, ``transitions[s, a]`` is the
state after reading ``alphabet[a]`` in state ``s``. Minimisation is AALpy's (merge states no
suffix tells apart), after dropping the states the start cannot reach; the result is numbered in
breadth-first order from the start, characters in alphabet order, so that two equal languages give
equal arrays.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from rnnscope.base.errors import RnnscopeError


@dataclass(frozen=True, eq=False)
class Dfa:
    alphabet: tuple[str, ...]
    transitions: np.ndarray            # [n, len(alphabet)] int: the state after each character
    start: int
    accepting: np.ndarray              # [n] bool
    names: tuple[str, ...] = ()        # optional, one per state: what the state means

    def __post_init__(self):
        n = len(self.accepting)
        if self.transitions.shape != (n, len(self.alphabet)):
            raise RnnscopeError(f"a DFA of {n} states over {len(self.alphabet)} characters needs transitions "
                                f"[{n}, {len(self.alphabet)}], got {list(self.transitions.shape)}")
        if len(set(self.alphabet)) != len(self.alphabet) or not all(len(c) == 1 for c in self.alphabet):
            raise RnnscopeError(f"a DFA's alphabet is distinct single characters, got {self.alphabet!r}")
        if n == 0 or not 0 <= self.start < n or (self.transitions.size and
                                                 not (0 <= self.transitions.min() and self.transitions.max() < n)):
            raise RnnscopeError("a DFA's start and transitions must name its own states")
        if self.names and len(self.names) != n:
            raise RnnscopeError(f"{len(self.names)} state names for {n} states")

    @property
    def n_states(self) -> int:
        return len(self.accepting)

    def index(self, char: str) -> int:
        try:
            return self.alphabet.index(char)
        except ValueError:
            raise RnnscopeError(f"{char!r} is not in the automaton's alphabet {''.join(self.alphabet)!r}") from None

    def run(self, text: str, state: int | None = None) -> np.ndarray:
        """[len(text) + 1] the states visited: before the first character, then after each."""
        table = self.transitions.tolist()          # Python lists: ~10x faster than NumPy scalars per step
        s = self.start if state is None else state
        out = [s]
        for ch in text:
            s = table[s][self.index(ch)]
            out.append(s)
        return np.asarray(out, dtype=np.int64)

    def accepts(self, text: str) -> bool:
        """Whether the automaton accepts ``text``; a character outside its alphabet is rejected."""
        if not set(text) <= set(self.alphabet):
            return False
        return bool(self.accepting[self.run(text)[-1]])

    def name(self, state: int) -> str:
        return self.names[state] if self.names else f"q{state}"

    # --- reachability and minimisation ---------------------------------------------------------------
    def reachable(self) -> Dfa:
        """The same automaton without the states the start cannot reach, numbered breadth first."""
        order = self._bfs_order()
        new = {old: i for i, old in enumerate(order)}
        table = np.array([[new[int(t)] for t in self.transitions[old]] for old in order], dtype=np.int64)
        table = table.reshape(len(order), len(self.alphabet))
        return Dfa(self.alphabet, table, 0, self.accepting[order].copy(),
                   tuple(self.names[o] for o in order) if self.names else ())

    def _bfs_order(self) -> list[int]:
        seen, order, queue = {self.start}, [self.start], deque([self.start])
        while queue:
            s = queue.popleft()
            for t in self.transitions[s].tolist():
                if t not in seen:
                    seen.add(t)
                    order.append(t)
                    queue.append(t)
        return order

    def minimised(self) -> Dfa:
        """The minimal DFA of the same language (AALpy's minimize over the reachable part). A merged
        state keeps the names of all the states it stands for, joined by " | "."""
        live = self.reachable()
        aut = live.to_aalpy()
        aut.minimize()
        kept = {st.state_id: st for st in aut.states}
        # AALpy redirects every transition into a merged state to the state it keeps: which of the
        # original states each kept one stands for follows from comparing one step of the language.
        cls = _classes(live, sorted(kept))
        names = ()
        if live.names:
            names = tuple(" | ".join(dict.fromkeys(live.names[s] for s in range(live.n_states) if cls[s] == k))
                          for k in sorted(kept))
        rep = {k: i for i, k in enumerate(sorted(kept))}
        table = np.array([[rep[kept[k].transitions[c].state_id] for c in live.alphabet] for k in sorted(kept)],
                         dtype=np.int64).reshape(len(kept), len(live.alphabet))
        merged = Dfa(live.alphabet, table, rep[aut.initial_state.state_id],
                     np.array([kept[k].is_accepting for k in sorted(kept)], dtype=bool), names)
        return merged.reachable()

    # --- AALpy and JSON --------------------------------------------------------------------------------
    def to_aalpy(self):
        """An ``aalpy.automata.Dfa`` with state ids 0..n-1 and the characters as inputs."""
        from aalpy.automata import Dfa as AalpyDfa, DfaState
        states = [DfaState(i, bool(self.accepting[i])) for i in range(self.n_states)]
        for i, st in enumerate(states):
            st.transitions = {c: states[int(t)] for c, t in zip(self.alphabet, self.transitions[i])}
        return AalpyDfa(states[self.start], states)

    @classmethod
    def from_aalpy(cls, aut, alphabet) -> Dfa:
        """From an ``aalpy.automata.Dfa`` over ``alphabet``, numbered breadth first from its start."""
        ids = {id(st): i for i, st in enumerate(aut.states)}
        missing = [(st.state_id, c) for st in aut.states for c in alphabet if c not in st.transitions]
        if missing:
            raise RnnscopeError(f"the automaton has no transition for {missing[:3]}: it is not complete")
        table = np.array([[ids[id(st.transitions[c])] for c in alphabet] for st in aut.states],
                         dtype=np.int64).reshape(len(aut.states), len(alphabet))
        accepting = np.array([st.is_accepting for st in aut.states], dtype=bool)
        return cls(tuple(alphabet), table, ids[id(aut.initial_state)], accepting).reachable()

    @classmethod
    def from_dict(cls, d: dict) -> Dfa:
        """The inverse of ``to_dict`` (docs/automaton-json.md's DFA)."""
        n = len(d["accepting"])
        return cls(tuple(d["alphabet"]), np.asarray(d["transitions"], dtype=np.int64).reshape(n, len(d["alphabet"])),
                   int(d["start"]), np.asarray(d["accepting"], dtype=bool), tuple(d.get("names") or ()))

    def to_dict(self) -> dict:
        return {"alphabet": list(self.alphabet), "start": int(self.start),
                "accepting": [bool(a) for a in self.accepting],
                "transitions": [[int(t) for t in row] for row in self.transitions],
                "names": list(self.names) if self.names else None}


def _classes(dfa: Dfa, representatives: list[int]) -> list[int]:
    """For each state, the representative (one of ``representatives``) with the same future:
    Moore's refinement, used only to say which original states a kept state stands for."""
    block = dfa.accepting.astype(np.int64)
    while True:
        signature = np.concatenate([block[:, None], block[dfa.transitions]], axis=1)
        _, refined = np.unique(signature, axis=0, return_inverse=True)
        refined = refined.reshape(-1)
        if len(set(refined.tolist())) == len(set(block.tolist())):
            break
        block = refined
    if len(set(block.tolist())) != len(representatives):      # the two minimisations disagree: a bug, not input
        raise RuntimeError(f"AALpy kept {len(representatives)} states, Moore's refinement finds "
                           f"{len(set(block.tolist()))}")
    by_block = {int(block[r]): r for r in representatives}
    return [by_block[int(block[s])] for s in range(dfa.n_states)]

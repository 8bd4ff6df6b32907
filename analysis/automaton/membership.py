"""A network's language, asked one word at a time: the membership oracle L* learns from.

A word is in the model's language when every character of it was probable enough where it stands:
the first by the model's recorded start distribution (models/reading/sample.py: a model never learned
what comes first from the zero state), each later one by the model's own next-character distribution
after the characters before it, read from the zero state. "Probable enough" is p >= theta; the default
theta is half the least probable legal continuation of the grammar the model was trained on (the rule
`rnnscope generalise` uses for `)`, here over every token and the separator). The empty word is in.
The language is prefix-closed by construction, so once a character fails the rest are never asked.

L*'s questions run the model once per new prefix: the next-character distribution after every prefix
it asked is kept, and a word all of whose prefixes are known is answered without running the model.
The equivalence oracle's words are fresh every round: they are run as padded batches and not kept.
"""
from __future__ import annotations

import numpy as np
import torch

from rnnscope import grammar
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.sample import start_distribution

THETA_RULE = ("half the least probable legal continuation of the training grammar (over every token at every "
              "depth and the separator)")
MAX_ALPHABET = 16          # L* asks |alphabet| questions per state and suffix: a text model's 96 is out of reach
BATCH = 512                # words per padded model call


def default_theta(spec: grammar.GrammarSpec) -> float:
    """See THETA_RULE: 1/6 for the shipped grammar (1/3 at depths 1-3), 1/4 for brackets only."""
    probs = [p for options in spec.token_table() for _, _, p in options]
    return min(probs) / 2        # a separator, where there is one, is certain: 1 is never the least


def check_theta(theta: float) -> float:
    if not 0 < theta < 1:          # also refuses NaN
        raise RnnscopeError(f"theta must be a probability strictly between 0 and 1, got {theta}")
    return float(theta)


class ModelLanguage:
    """The language of ``model`` at threshold ``theta``; ``start`` [V] overrides the recorded start
    distribution. ``alphabet`` is the model's vocabulary."""

    def __init__(self, model: CharRNN, theta: float, start: np.ndarray | None = None):
        if model.decoder is None:
            raise RnnscopeError("a task model predicts a sum, not the next character: it has no language to extract")
        self.model = model.eval()
        self.theta = check_theta(theta)
        self.alphabet = tuple(model.config.vocab)
        if len(self.alphabet) > MAX_ALPHABET:
            raise RnnscopeError(f"the model reads {len(self.alphabet)} characters; extracting an automaton asks "
                                f"questions per character and state, and takes at most {MAX_ALPHABET}")
        first = start_distribution(model) if start is None else np.asarray(start, dtype=np.float64)
        self._index = {c: i for i, c in enumerate(self.alphabet)}
        self._probs: dict[str, np.ndarray] = {"": first}   # prefix -> p(next character) [V]
        self.model_calls = 0
        self.chars_read = 0

    # --- membership ------------------------------------------------------------------------------------
    def outputs(self, word: str) -> list[bool]:
        """Membership of each non-empty prefix of ``word``, shortest first ([True] for the empty word,
        as AALpy asks it)."""
        if not word:
            return [True]
        return self.outputs_many([word])[0]

    def outputs_many(self, words: list[str], keep: bool = True) -> list[list[bool]]:
        """``outputs`` of each word. ``keep``: remember every prefix's distribution (L*'s questions come
        back to the same prefixes); without it, one padded run answers the words and nothing is kept (the
        equivalence oracle's fresh words would fill memory: ~900,000 prefixes for the shipped GRU)."""
        if not keep:
            return self._fresh(words)
        self._read([w for w in words if self._unknown(w)])
        return [self._verdicts(w) if w else [True] for w in words]

    def accepts(self, word: str) -> bool:
        return self.outputs(word)[-1]

    def next_probs(self, prefix: str) -> np.ndarray:
        """p(next character) after ``prefix`` [V] (the start distribution for the empty prefix)."""
        if prefix not in self._probs:
            self._read([prefix])
        return self._probs[prefix]

    def _verdicts(self, word: str) -> list[bool]:
        out, alive = [], True
        for i, ch in enumerate(word):
            alive = alive and self._probs[word[:i]][self._index[ch]] >= self.theta
            out.append(bool(alive))
        return out

    def _unknown(self, word: str) -> bool:
        """Whether reading ``word`` must run the model: a prefix still alive whose next distribution is new."""
        for i, ch in enumerate(word):
            probs = self._probs.get(word[:i])
            if probs is None:
                return True
            if probs[self._index[ch]] < self.theta:
                return False          # dead here: nothing after it is asked
        return False

    def _read(self, words: list[str]) -> None:
        """Run the model on ``words`` from the zero state and keep the distribution after every prefix."""
        for chunk, _ids, probs in self._batches(words):
            for row, w in enumerate(chunk):
                for t in range(len(w)):
                    self._probs.setdefault(w[:t + 1], probs[row, t])

    def _fresh(self, words: list[str]) -> list[list[bool]]:
        verdicts = {"": [True]}
        start = self._probs[""]
        for chunk, ids, probs in self._batches(words):
            for row, w in enumerate(chunk):
                n = len(w)
                p = np.concatenate([[start[ids[row, 0]]], probs[row, np.arange(n - 1), ids[row, 1:n]]])
                verdicts[w] = np.logical_and.accumulate(p >= self.theta).tolist()
        return [verdicts[w] for w in words]

    @torch.no_grad()
    def _batches(self, words: list[str]):
        """(words, their ids [B, width], p(next) after each character [B, width, V]), a padded batch at a
        time, every word read from the zero state."""
        unknown = [c for w in words for c in set(w) if c not in self._index]
        if unknown:
            raise RnnscopeError(f"{sorted(set(unknown))} not in the model's vocabulary {''.join(self.alphabet)!r}")
        words = sorted(set(w for w in words if w))
        for at in range(0, len(words), BATCH):
            chunk = words[at:at + BATCH]
            width = max(map(len, chunk))
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            for row, w in enumerate(chunk):
                ids[row, :len(w)] = [self._index[c] for c in w]
            logits, _ = self.model(torch.as_tensor(ids, device=self.model.device))
            self.model_calls += 1
            self.chars_read += int(ids.size)
            yield chunk, ids, torch.softmax(logits.double(), dim=-1).cpu().numpy()

    # --- the model's own words -------------------------------------------------------------------------
    @torch.no_grad()
    def own_words(self, n: int, length: int, rng: np.random.Generator) -> list[str]:
        """``n`` words of ``length`` characters the model itself would write: each character drawn from
        the model's distribution where it stands, restricted to what is in its language (p >= theta)
        and renormalised; the first from the start distribution. Drawn in lock-step."""
        legal = np.where(self._probs[""] >= self.theta, self._probs[""], 0.0)
        if legal.sum() <= 0:
            return [""] * n
        ids = np.empty((n, length), dtype=np.int64)
        ids[:, 0] = rng.choice(len(legal), size=n, p=legal / legal.sum())
        state = None
        for t in range(1, length):
            logits, state = self.model(torch.as_tensor(ids[:, t - 1:t], device=self.model.device), state)
            p = torch.softmax(logits[:, -1].double(), dim=-1).cpu().numpy()
            p = np.where(p >= self.theta, p, 0.0)
            p[p.sum(axis=1) == 0] = 1.0       # nothing legal: any character (the word is cut here anyway)
            u = rng.random((n, 1))
            ids[:, t] = (np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1) < u).sum(axis=1).clip(max=len(legal) - 1)
        return ["".join(self.alphabet[i] for i in row) for row in ids]

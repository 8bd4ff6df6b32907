"""Where a model stops counting: which state of its extracted automaton it is in after a prefix its own
language does not contain (the depth-generalisation models' deeper excursions).

After a prefix w the model's future is its residual language: the suffixes all of whose characters it
finds probable enough (p >= theta) after reading w, whatever it thought of w itself. When that future
equals, on a set of telling suffixes, the future of one state of the extracted automaton, the model is
in that state: for the brackets-only models, w = n opening brackets with n beyond the training depth m
landing in "depth m" says that depths m .. n merge. The telling suffixes are the automaton's
characterisation set (AALpy: it tells every pair of its states apart) and runs of 1 .. ``closes`` closing
tokens (how many `)` the model takes before it must open again: that tells any depth up to ``closes``
from any other, also depths the automaton has no state for). No state matching means the model's
future is none of its automaton's: it still tells this depth apart.
"""
from __future__ import annotations

from rnnscope.analysis.automaton.membership import ModelLanguage
from rnnscope.grammar.dfa import Dfa


def telling_suffixes(dfa: Dfa, close_token: str, closes: int) -> list[str]:
    char_set = dfa.to_aalpy().compute_characterization_set(raise_warning=False) or []
    suffixes = ["".join(e) for e in char_set] + [close_token * j for j in range(1, closes + 1)]
    return list(dict.fromkeys(s for s in suffixes if s))


def state_after(language: ModelLanguage, dfa: Dfa, prefix: str, suffixes: list[str]) -> int | None:
    """The state of ``dfa`` whose future the model shows after ``prefix``, or None when none does."""
    model = tuple(_residual(language, prefix, s) for s in suffixes)
    table = dfa.transitions.tolist()
    matches = []
    for q in range(dfa.n_states):
        own = []
        for s in suffixes:
            r = q
            for ch in s:
                r = table[r][dfa.index(ch)]
            own.append(bool(dfa.accepting[r]))
        if tuple(own) == model:
            matches.append(q)
    return matches[0] if len(matches) == 1 else None


def _residual(language: ModelLanguage, prefix: str, suffix: str) -> bool:
    """Whether every character of ``suffix`` is probable enough after ``prefix`` (not judged itself)."""
    word = prefix + suffix
    language.outputs_many([word])            # runs the model on the word once, keeps every prefix's distribution
    return all(language.next_probs(word[:i])[language.alphabet.index(word[i])] >= language.theta
               for i in range(len(prefix), len(word)))


def counting(language: ModelLanguage, dfa: Dfa, open_token: str, close_token: str, up_to: int) -> list[dict]:
    """For n = 0 .. ``up_to`` opening tokens read from the start: the state of ``dfa`` the model is in
    after them (its name, or None: no state's future)."""
    suffixes = telling_suffixes(dfa, close_token, up_to + 1)
    rows = []
    for n in range(up_to + 1):
        q = state_after(language, dfa, open_token * n, suffixes)
        rows.append({"opens": n, "state": q, "name": None if q is None else dfa.name(q)})
    return rows


def counting_numbers(language: ModelLanguage, dfa: Dfa, separator: str, up_to: int) -> dict:
    """``counting`` for the grammar's brackets, and what it says: the model counts to ``counts_to`` (after
    0 .. counts_to opens it is in that many different states), and from there each deeper n merges into
    the state named in ``rows``."""
    rows = counting(language, dfa, "(" + separator, ")" + separator, up_to)
    seen, counts_to = set(), -1
    for r in rows:
        if r["state"] is None or r["state"] in seen:
            break
        seen.add(r["state"])
        counts_to = r["opens"]
    return {"open_token": "(" + separator, "close_token": ")" + separator, "up_to": up_to,
            "rule": "after n opening tokens read from the start, the state of the L* automaton whose future the "
                    "model shows: the same verdicts on the automaton's characterisation set and on runs of 1 .. "
                    "up_to + 1 closing tokens (null: no state's future)",
            "counts_to": counts_to, "rows": rows}

"""What the data says at every character, as arrays the labeller and probes take without
special cases (docs/methods.md, Annotations): numeric annotations (depth, distance to the matching
`)`) and categorical ones (token kind, current char, next char, next token, depth level).

Each Annotation also knows how to say one of its values in words, so a label can read
"-1.0 just before a `4`" rather than "next_char == 4". Positions where an annotation has no
value (the last character has no next one; depth 0 has no matching `)`) are masked, never
filled in.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from rnnscope import grammar

MISSING = -1      # the code of a categorical annotation where it has no value


@dataclass(frozen=True)
class Annotation:
    name: str
    numeric: bool
    values: np.ndarray                  # [T]: float (NaN = no value) if numeric, else int codes (-1 = none)
    categories: tuple[str, ...] = ()    # categorical: the name of each code
    phrase: str = "{}"                  # how one value reads in a label, e.g. "just before a `{}`"
    doc: str = ""
    wording: tuple[str, ...] = ()       # categorical: each category as the phrase wants it (default: its name)

    @property
    def valid(self) -> np.ndarray:
        return ~np.isnan(self.values) if self.numeric else self.values != MISSING

    def says(self, value) -> str:
        """One category (or a numeric condition) in words: ``next_char.says("4")`` -> "just before a `4`"."""
        if not self.numeric and self.wording and value in self.categories:
            value = self.wording[self.categories.index(value)]
        return self.phrase.format(value)


@dataclass(frozen=True)
class Annotations:
    """The annotations of one text, by name, in the order labels prefer them on a tie."""
    items: dict[str, Annotation] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Annotation:
        return self.items[name]

    def __iter__(self):
        return iter(self.items.values())

    def __len__(self) -> int:
        return len(self.items)

    def names(self) -> list[str]:
        return list(self.items)


def _categorical(name: str, keys: np.ndarray, names: dict, phrase: str, doc: str) -> Annotation:
    """``keys`` [T] of integers (MISSING = no value) -> codes 0..n-1 over the keys present, in
    ascending order, each named by ``names[key]`` (and worded with blanks made visible)."""
    present = np.unique(keys[keys != MISSING])
    codes = np.full(len(keys), MISSING, dtype=np.int64)
    ok = keys != MISSING
    codes[ok] = np.searchsorted(present, keys[ok])
    categories = tuple(names[int(k)] for k in present)
    return Annotation(name, False, codes, categories, phrase, doc, tuple(VISIBLE.get(c, c) for c in categories))


VISIBLE = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5"}    # blanks as the heatmap's axis shows them
KIND_WORDS = {"open": "an opening bracket", "close": "a closing bracket", "digit": "a digit",
              "separator": "a separator"}


def _kinds(kind: np.ndarray) -> list[str]:
    return [grammar.KIND_NAMES[k] for k in np.unique(kind) if k >= 0]


def grammar_annotations(text: str, spec: grammar.GrammarSpec = grammar.GrammarSpec(),
                        depth: np.ndarray | None = None) -> Annotations:
    """Every annotation of grammar text. ``depth``: the true depth after each character when
    the text continues a stream (counted from the stream's start); default: from depth 0."""
    base = grammar.annotate(text, spec)
    depth = base["depth"] if depth is None else np.asarray(depth)
    kind = base["kind"]
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    char_names = {int(c): chr(c) for c in np.unique(points)}
    following = np.append(points[1:], MISSING)
    tokens = np.flatnonzero(kind != grammar.SEPARATOR)
    after = np.searchsorted(tokens, np.arange(len(text)), side="right")     # the first token after t
    next_token = np.where(after < len(tokens), points[tokens[np.minimum(after, len(tokens) - 1)]], MISSING)
    items = [
        Annotation("depth", True, depth.astype(np.float64), (), "when depth {}", "nesting depth after the character"),
        _categorical("depth_level", depth, {int(d): str(int(d)) for d in np.unique(depth)}, "at depth {}",
                     "depth as a category"),
        dataclasses.replace(_categorical("kind", kind, dict(enumerate(grammar.KIND_NAMES)), "on {}",
                                         "token kind of the character: open, close, digit, separator"),
                            wording=tuple(KIND_WORDS[k] for k in grammar.KIND_NAMES if k in set(_kinds(kind)))),
        _categorical("char", points, char_names, "on `{}`", "the character itself"),
        _categorical("next_char", following, char_names, "just before a `{}`", "the character that comes next"),
        _categorical("next_token", next_token, char_names, "when the next token is `{}`",
                     "the next non-separator character after this one (the digit d, a bracket)"),
        _categorical("next_kind", np.where(next_token == MISSING, MISSING, _kind_of(next_token)),
                     dict(enumerate(grammar.KIND_NAMES)), "when the next token is {}",
                     "kind of the next token: open, close or digit"),
        Annotation("distance_to_close", True, _distance_to_close(kind, depth), (),
                   "when the matching `)` is {} characters away",
                   "characters until the `)` that closes the innermost open bracket (none at depth 0)"),
    ]
    return Annotations({a.name: a for a in items})


def _kind_of(points: np.ndarray) -> np.ndarray:
    return np.where(points == ord("("), grammar.OPEN, np.where(points == ord(")"), grammar.CLOSE, grammar.DIGIT))


def _distance_to_close(kind: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Characters from t to the `)` that brings depth below depth[t] (NaN at depth 0 or when the
    text ends first). The first `)` after t that leaves level depth[t] is the matching one, since
    depth cannot drop below that level any other way; per level, a reverse running minimum of
    the positions of the `)` that leave it finds it."""
    T = len(depth)
    out = np.full(T, np.nan)
    closes = np.flatnonzero(kind == grammar.CLOSE)
    level_left = depth[closes] + 1                  # a `)` at s leaves level depth[s] + 1
    positions = np.arange(T)
    for d in np.unique(depth[depth > 0]):
        at = closes[level_left == d]
        here = np.flatnonzero(depth == d)
        k = np.searchsorted(at, here, side="left")  # the first such `)` at or after t
        found = k < len(at)
        out[here[found]] = at[k[found]] - positions[here[found]]
    return out

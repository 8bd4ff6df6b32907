"""What a text (source code above all) says at every character, as the same Annotations the
grammar has (analysis/describe/annotations.py), so the labeller, probes and match take them without
special cases (docs/methods.md, Annotations). Karpathy, Johnson & Fei-Fei 2015 found
quote, line-length, indentation and bracket cells in char-LSTMs on code: these are the
annotations such cells are found against.

Each annotation is a function of the text registered by name with ``@annotation``; to add
one, write a function ``Source -> array [T]`` beside these (``Source`` holds the text and the
scans several annotations share, each computed once). Like grammar depth, every value is the
state *after reading* the character:

- ``char_class``: letter (Unicode L*, and combining marks M*), digit (N*), space (any
  whitespace but a line break, tab included), newline (``\\n``, and a ``\\r`` right before one:
  ``\\r\\n`` is one line break), punctuation (everything else: punctuation, symbols, controls).
- ``in_string``: inside a Python string literal. Recognised: ``'...'`` and ``"..."`` (a
  backslash escapes the next character, a backslash-newline continues the string on the next
  line; an unterminated one ends at its line's end), ``'''...'''`` and ``\"\"\"...\"\"\"`` over any
  lines (an unterminated one runs to the text's end). String prefixes (r, b, f, u) are not part
  of the literal; escapes are read the same way in raw strings, which is where such a string
  ends in Python too; an f-string's ``{...}`` counts as inside it. The opening quote opens the
  string (yes from it on) and the last closing quote closes it (no on that character).
- ``in_comment``: from a ``#`` that is not inside a string to the end of its line (the line
  break itself is no longer in the comment).
- ``paren_depth``, ``square_depth``, ``curly_depth``: ``( )``, ``[ ]``, ``{ }`` opened and not yet
  closed, outside strings and comments (brackets in those are text, not code);
  ``bracket_depth``: the three together, and ``bracket_level`` the same as a category (a probe
  target). A closer with nothing open of its kind is *unmatched*: the text began inside
  something, or it is broken, so the true depth is unknown from there on; that bracket's depth
  (and the combined one) is missing (NaN) from the unmatched closer to the end of its line,
  then counted again from 0 -- a count that restarts where a line begins, never below 0.
  ``Source.unmatched`` lists where that happened.
- ``column``: position in the line, 0 for a line's first character (a tab is one character).
- ``line_length``: characters on the line the character is on, not counting the line break
  (its ``\\n`` and a ``\\r`` before it); the line break itself gets its line's length.
- ``indentation``: the leading whitespace of the line, in spaces (a tab advances to the next
  multiple of 8, as Python's tokenizer counts it), for every character of the line; missing
  on a blank line (whitespace only), which has no indentation of its own.
- ``char``, ``next_char``, ``next_char_class``: the character itself, the next one and its class.

A text that continues another (a held-out stream that is the tail of its training file) is
annotated with what came before it: ``text_annotations(full, start, stop)`` reads the whole of
``full`` and returns the annotations of ``full[start:stop]``, so a window starting inside a
string or a bracket gets its true state, and its last line its true length.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass
from collections.abc import Callable

import numpy as np

from rnnscope.base.errors import RnnscopeError

from rnnscope.analysis.describe.annotations import MISSING, VISIBLE, Annotation, Annotations, _categorical

CLASSES = ("letter", "digit", "space", "punctuation", "newline")
CLASS_WORDS = ("a letter", "a digit", "a space", "punctuation", "a line break")
LETTER, DIGIT, SPACE, PUNCTUATION, NEWLINE = range(len(CLASSES))
YES_NO = ("yes", "no")        # codes 0 = yes, 1 = no: "yes" first, so a tied rule reads "+0.8 inside a string"
TAB_SIZE = 8
BRACKETS = {"paren": "()", "square": "[]", "curly": "{}"}

# One left-to-right pass of the text's strings and comments: each match starts where the last
# ended, so a `#` inside a string is part of the string and a quote inside a comment part of
# the comment. Triple quotes are tried before single ones (`""` is an empty string, `\"\"\"` opens).
_LEXEME = re.compile(r"""(?=[#"'])(?:     # tried only where a comment or a string can start: 3x faster
    (?P<comment> \#[^\n]* )
  | (?P<q3> \"\"\"|''' ) (?: [^\\"']+ | \\. | (?!(?P=q3)) . )* (?P<end3> (?P=q3) )?
  | (?P<q1> ["'] ) (?: [^\\"'\n]+ | \\. | (?!(?P=q1)) [^\n\\] )* (?P<end1> (?P=q1) )?
)""", re.VERBOSE | re.DOTALL)
# Each alternative ends in an optional closer, so once started it always matches: an
# unterminated string cannot make the engine backtrack.


class Source:
    """A text and the scans its annotations share, each computed on first use."""

    def __init__(self, text: str):
        self.text = text
        self.points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        self.unmatched: dict[str, list[int]] = {}    # "()": positions of closers with nothing open
        self._depths: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.text)

    @functools.cached_property
    def classes(self) -> np.ndarray:
        """[T] class codes (CLASSES), one unicodedata look-up per distinct character."""
        table = np.zeros(int(self.points.max(initial=0)) + 1, np.int64)      # code point -> class
        for p in np.flatnonzero(np.bincount(self.points)):
            table[p] = _class_of(chr(p))
        codes = table[self.points]
        codes[np.flatnonzero((self.points[:-1] == ord("\r")) & (self.points[1:] == ord("\n")))] = NEWLINE
        return codes

    @functools.cached_property
    def lexemes(self) -> tuple[np.ndarray, np.ndarray]:
        """[T] bool each: the string is open after reading the character; the comment is."""
        T = len(self.text)
        string, comment = np.zeros(T + 1, np.int64), np.zeros(T + 1, np.int64)   # +1/-1 at edges, then cumsum
        for m in _LEXEME.finditer(self.text):
            start, end = m.span()
            if m.lastgroup == "comment":
                comment[start] += 1
                comment[end] -= 1
            else:
                closed = m.group("end3") is not None or m.group("end1") is not None
                string[start] += 1
                string[end - 1 if closed else end] -= 1       # the last closing quote closes it
        return np.cumsum(string)[:T] > 0, np.cumsum(comment)[:T] > 0

    @functools.cached_property
    def code(self) -> np.ndarray:
        """[T] bool: the character is code -- not part of a string literal or a comment. A
        string's last closing quote is not code either, though the string is closed after it."""
        string, comment = self.lexemes
        part = string.copy()
        part[1:] |= string[:-1]           # the closing quote: open before it, closed after it
        return ~(part | comment)

    @functools.cached_property
    def line_starts(self) -> np.ndarray:
        """[T] the position where each character's line begins."""
        breaks = self.points == ord("\n")
        start = np.zeros(len(self.text), np.int64)
        start[1:] = np.where(breaks[:-1], np.arange(1, len(self.text)), 0)
        return np.maximum.accumulate(start) if len(start) else start

    @functools.cached_property
    def line_ids(self) -> np.ndarray:
        """[T] the line number of each character (a line break belongs to the line it ends)."""
        ids = np.zeros(len(self.text), np.int64)
        ids[1:] = np.cumsum(self.points[:-1] == ord("\n"))
        return ids

    def depth(self, pair: str) -> np.ndarray:
        """[T] float: brackets ``pair`` (e.g. "()") open after reading each character, in code only;
        NaN from an unmatched closer to the end of its line, then counted again from 0."""
        if pair not in self._depths:
            self._depths[pair] = self._walk_depth(pair)
        return self._depths[pair]

    def _walk_depth(self, pair: str) -> np.ndarray:
        opener, closer = pair
        steps = ((self.points == ord(opener)) & self.code).astype(np.int64)
        steps -= (self.points == ord(closer)) & self.code
        out = np.empty(len(steps), np.float64)
        begin = 0
        while begin < len(steps):
            level = np.cumsum(steps[begin:])
            below = np.flatnonzero(level < 0)
            if not len(below):
                out[begin:] = level
                break
            t = begin + int(below[0])                      # the first closer with nothing open
            self.unmatched.setdefault(pair, []).append(t)
            line_end = np.flatnonzero(self.points[t:] == ord("\n"))
            resume = t + int(line_end[0]) + 1 if len(line_end) else len(steps)
            out[begin:t] = level[:t - begin]
            out[t:resume] = np.nan
            begin = resume
        return out


def _class_of(ch: str) -> int:
    if ch == "\n":
        return NEWLINE
    if ch.isspace():
        return SPACE
    category = unicodedata.category(ch)
    if category[0] in "LM":
        return LETTER
    if category[0] == "N":
        return DIGIT
    return PUNCTUATION


# --- the registry --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TextAnnotation:
    """How to compute one annotation and say its values."""
    name: str
    compute: Callable[[Source], np.ndarray]      # [T]: float (NaN: none) if numeric, else int codes
    numeric: bool
    phrase: str
    doc: str
    categories: tuple[str, ...] = ()             # categorical with fixed categories (codes index them)
    wording: tuple[str, ...] = ()


REGISTRY: dict[str, TextAnnotation] = {}


def annotation(name: str, phrase: str, doc: str, numeric: bool = False, categories: tuple[str, ...] = (),
               wording: tuple[str, ...] = ()):
    """Register ``fn(source) -> [T]`` as the text annotation ``name`` (in registration order,
    which is the order labels prefer on a tie)."""
    def register(fn):
        REGISTRY[name] = TextAnnotation(name, fn, numeric, phrase, doc, categories, wording)
        return fn
    return register


@annotation("char_class", "on {}", "class of the character: " + ", ".join(CLASSES), categories=CLASSES,
            wording=CLASS_WORDS)
def char_class(src: Source) -> np.ndarray:
    return src.classes


@annotation("next_char_class", "just before {}", "class of the next character", categories=CLASSES,
            wording=CLASS_WORDS)
def next_char_class(src: Source) -> np.ndarray:
    return np.append(src.classes[1:], MISSING)


@annotation("in_string", "{}", "inside a string literal (Python quoting) after reading the character",
            categories=YES_NO, wording=("inside a string", "outside a string"))
def in_string(src: Source) -> np.ndarray:
    return np.where(src.lexemes[0], 0, 1)


@annotation("in_comment", "{}", "inside a # comment after reading the character",
            categories=YES_NO, wording=("inside a comment", "outside a comment"))
def in_comment(src: Source) -> np.ndarray:
    return np.where(src.lexemes[1], 0, 1)


def _register_depth(kind: str, pair: str) -> None:
    annotation(f"{kind}_depth", f"when {kind} depth {{}}", f"{pair[0]} {pair[1]} open after the character, in code",
               numeric=True)(lambda src: src.depth(pair))


for _kind, _pair in BRACKETS.items():
    _register_depth(_kind, _pair)


@annotation("bracket_depth", "when bracket depth {}", "( [ { open after the character, in code", numeric=True)
def bracket_depth(src: Source) -> np.ndarray:
    return sum(src.depth(pair) for pair in BRACKETS.values())      # NaN where any kind is unknown


@annotation("bracket_level", "at bracket depth {}", "bracket depth as a category")
def bracket_level(src: Source) -> np.ndarray:
    depth = bracket_depth(src)
    return np.where(np.isnan(depth), MISSING, np.nan_to_num(depth)).astype(np.int64)


@annotation("column", "when column {}", "position in the line (0 = its first character)", numeric=True)
def column(src: Source) -> np.ndarray:
    return (np.arange(len(src)) - src.line_starts).astype(np.float64)


@annotation("line_length", "when the line length is {}", "characters on the character's line, without its "
            "line break", numeric=True)
def line_length(src: Source) -> np.ndarray:
    lengths = np.array([len(line.removesuffix("\r")) for line in src.text.split("\n")], np.float64)
    return lengths[src.line_ids]


@annotation("indentation", "when indentation is {} spaces", "leading whitespace of the line in spaces (tab: to "
            "the next multiple of 8); none on a blank line", numeric=True)
def indentation(src: Source) -> np.ndarray:
    widths = np.array([np.nan if not line.strip() else
                       len(line[:len(line) - len(line.lstrip(" \t"))].expandtabs(TAB_SIZE))
                       for line in src.text.split("\n")], np.float64)
    return widths[src.line_ids]


@annotation("char", "on `{}`", "the character itself")
def char(src: Source) -> np.ndarray:
    return src.points


@annotation("next_char", "just before a `{}`", "the character that comes next")
def next_char(src: Source) -> np.ndarray:
    return np.append(src.points[1:], MISSING)


# --- building Annotations ------------------------------------------------------------------------

def text_annotations(full: str, start: int = 0, stop: int | None = None) -> Annotations:
    """Every registered annotation of ``full[start:stop]``, computed over the whole of ``full``
    (what comes before the span sets the state it starts in; what comes after, its last line's
    length)."""
    stop = len(full) if stop is None else stop
    if not 0 <= start < stop <= len(full):
        raise RnnscopeError(f"no span {start:,} .. {stop:,} in a text of {len(full):,} characters")
    src = Source(full)
    items = {}
    for spec in REGISTRY.values():
        values = np.asarray(spec.compute(src))[start:stop]
        items[spec.name] = _build(spec, values, src)
    return Annotations(items)


def _build(spec: TextAnnotation, values: np.ndarray, src: Source) -> Annotation:
    if spec.numeric:
        return Annotation(spec.name, True, values.astype(np.float64), (), spec.phrase, spec.doc)
    if spec.categories:                           # fixed categories: keep those present, in their order
        present = [k for k in range(len(spec.categories)) if (values == k).any()]
        names = {k: spec.categories[k] for k in present}
        ann = _categorical(spec.name, values, names, spec.phrase, spec.doc)
        wording = spec.wording or spec.categories
        return dataclasses.replace(ann, wording=tuple(wording[k] for k in present))
    keys = values[values != MISSING]
    if spec.name in ("char", "next_char"):        # code points: named by the character
        names = {int(k): chr(int(k)) for k in np.unique(keys)}
    else:                                         # small integers (levels): named by the number
        names = {int(k): str(int(k)) for k in np.unique(keys)}
    return _categorical(spec.name, values, names, spec.phrase, spec.doc)


__all__ = ["REGISTRY", "Source", "annotation", "text_annotations", "CLASSES", "VISIBLE"]

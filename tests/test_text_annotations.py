"""Text annotations (docs/methods.md, Annotations): each one against arrays written out by
hand for small strings -- escapes, a `#` inside a string, triple quotes over lines, nested and
unmatched brackets, tabs against spaces, \\r\\n -- and a hand-built ReLU RNN whose cell is the paren
depth by construction, labelled so through the real tracer and labeller."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hand_built import CODE, depth_counter

from rnnscope.analysis.describe.best_cells import best_cells
from rnnscope.analysis.describe.labels import label_cells
from rnnscope.analysis.describe.text_annotations import REGISTRY, Source, annotation, text_annotations
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.reading.trace import value_range
from rnnscope.models.reading.tracer import trace

torch.set_num_threads(1)
N = math.nan


def read(text: str, name: str, start: int = 0, stop: int | None = None) -> list:
    """One annotation as a plain list: numbers (NaN kept) or category names (None = no value)."""
    ann = text_annotations(text, start, stop)[name]
    if ann.numeric:
        return ann.values.tolist()
    return [ann.categories[k] if k >= 0 else None for k in ann.values]


def same(got: list, want: list) -> bool:
    return len(got) == len(want) and all((isinstance(w, float) and math.isnan(w) and math.isnan(g)) or g == w
                                         for g, w in zip(got, want))


def yn(marks: str) -> list[str]:
    """'..yy.' -> ['no', 'no', 'yes', 'yes', 'no']: hand-written yes/no rows."""
    return ["yes" if m == "y" else "no" for m in marks]


def test_character_classes():
    text = "a1 _\tb\u00e9\r\n\u00b2"
    assert read(text, "char_class") == ["letter", "digit", "space", "punctuation", "space", "letter", "letter",
                                        "newline", "newline", "digit"]      # \r before \n is the line break
    assert read("a\rb", "char_class") == ["letter", "space", "letter"]      # a lone \r is not
    assert read("a1\n", "next_char_class") == ["digit", "newline", None]


@pytest.mark.parametrize("text, marks", [
    # the opening quote opens the string, the last closing quote closes it (after-reading, like depth)
    ('x = "a#b" # c\n', "....yyyy......"),
    ("s = 'it\\'s'\n", "....yyyyyy.."),              # \' is escaped: the string ends at the last quote
    ('"a\\\\" b\n', "yyyy...."),                    # "a\\" : an escaped backslash, then the closing quote
    ('""" a\n"" b """ c\n', "yyyyyyyyyyyyy...."),   # triple quotes over lines; "" inside is text
    ('"" x\n', "y...."),                             # an empty string opens and closes
    ("'a\nb", "yy.."),                                # unterminated: the string ends at its line's end
    ("r'\\'' x", ".yyy..."),                          # a raw string still ends after \' (as in Python)
    ('"a\\\nb" c', "yyyyy..."),                       # backslash-newline continues the string
    ("# it's\nx", "........"),                        # a quote in a comment opens nothing
])
def test_inside_a_string(text, marks):
    assert read(text, "in_string") == yn(marks), text


@pytest.mark.parametrize("text, marks", [
    ('x = "a#b" # c\n', "..........yyy."),          # the # in the string is text; the comment ends at \n
    ("# it's\nx", "yyyyyy.."),
    ("a # (\n# b", "..yyy.yyy"),                     # the last line's comment runs to the text's end
])
def test_inside_a_comment(text, marks):
    assert read(text, "in_comment") == yn(marks), text


def test_bracket_depths_count_code_only():
    text = 'f(a[1], {"(": [2]}) # )\n'
    #       f  (  a  [  1  ]  ,  ␣  {  "  (  "  :  ␣  [  2  ]  }  )  ␣  #  ␣  )  \n
    paren = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    square = [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    curly = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert read(text, "paren_depth") == paren
    assert read(text, "square_depth") == square
    assert read(text, "curly_depth") == curly
    assert read(text, "bracket_depth") == [p + s + c for p, s, c in zip(paren, square, curly)]
    assert read(text, "bracket_level") == [str(p + s + c) for p, s, c in zip(paren, square, curly)]


def test_an_unmatched_closer_leaves_the_rest_of_its_line_unknown_then_counts_from_zero():
    text = "a)(b\n(c)\n"
    #       a  )  (  b  \n (  c  )  \n
    want = [0, N, N, N, N, 1, 1, 0, 0]
    assert same(read(text, "paren_depth"), want)
    assert same(read(text, "bracket_depth"), want)
    assert read(text, "square_depth") == [0] * 9
    assert read(text, "bracket_level") == ["0", None, None, None, None, "1", "1", "0", "0"]
    src = Source(text)
    src.depth("()")
    assert src.unmatched == {"()": [1]}


def test_columns_line_lengths_and_indentation():
    text = "\tx\n    y\r\n  \n\tz = 1"
    #       \t x  \n ␣  ␣  ␣  ␣  y  \r \n ␣  ␣  \n \t z  ␣  =  ␣  1
    assert read(text, "column") == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 0, 1, 2, 3, 4, 5]
    assert read(text, "line_length") == [2] * 3 + [5] * 7 + [2] * 3 + [6] * 6   # \r\n is not counted
    assert same(read(text, "indentation"), [8] * 3 + [4] * 7 + [N] * 3 + [8] * 6)   # a tab: to column 8
    assert same(read("  \t x\n", "indentation"), [9] * 6)          # two spaces, a tab to 8, a space


def test_the_character_and_the_next():
    assert read("ab\n", "char") == ["a", "b", "\n"]
    assert read("ab\n", "next_char") == ["b", "\n", None]


def test_a_span_is_annotated_with_what_comes_before_and_after_it():
    full = 'x = """\n  (doc)\n"""\nf(1,\n  2)\n'
    start = full.index("(doc")
    stop = full.index("2)") + 1
    ann = text_annotations(full, start, stop)
    whole = text_annotations(full)
    for name in ann.names():
        a, b = ann[name], whole[name]
        if a.numeric:
            np.testing.assert_array_equal(a.values, b.values[start:stop])
        else:
            assert [a.categories[k] if k >= 0 else None for k in a.values] == [
                b.categories[k] if k >= 0 else None for k in b.values[start:stop]]
    assert read(full, "in_string", start, stop)[:6] == ["yes"] * 6        # begins inside the docstring
    assert read(full, "paren_depth", start, stop)[-1] == 1                # the `(` before the span is open
    assert read(full, "line_length", start, stop)[-1] == 4                # "  2)" read to its end
    assert set(ann["in_string"].categories) == {"yes", "no"} and ann["char"].categories[0] == "\n"


def test_a_span_outside_the_text_is_refused():
    with pytest.raises(RnnscopeError, match="no span 3 .. 9 in a text of 5 characters"):
        text_annotations("abcde", 3, 9)


def test_every_registered_annotation_is_one_value_per_character_and_a_new_one_is_picked_up():
    text = "def f(x):\n    return 'a' + x  # b\n"
    ann = text_annotations(text)
    assert ann.names() == list(REGISTRY) and all(len(a.values) == len(text) for a in ann)

    @annotation("vowel", "on a vowel", "a vowel, for this test", categories=("no", "yes"))
    def vowel(src):
        return np.isin(src.points, [ord(c) for c in "aeiou"]).astype(np.int64)
    try:
        got = text_annotations("bead")["vowel"]
        assert [got.categories[k] for k in got.values] == ["no", "yes", "yes", "no"]
    finally:
        del REGISTRY["vowel"]


def hand_built_paren_rnn(vocab: list[str]):
    """Cell 0 is the paren depth by construction, cell 1 is 1 on `[` (hand_built.depth_counter)."""
    return depth_counter(vocab, "[")


def test_a_hand_built_paren_counter_is_labelled_as_tracking_paren_depth():
    tr = trace(hand_built_paren_rnn(sorted(set(CODE))), CODE)
    ann = text_annotations(CODE)
    h = tr.hidden[0]
    np.testing.assert_allclose(h[:, 0], ann["paren_depth"].values, atol=1e-6)     # the construction holds
    labels = {lab.cell: lab for lab in label_cells(h, ann, value_range("h", h))}
    assert labels[0].label == "tracks paren depth (r = +1.00)"
    assert labels[1].label.startswith("+1.0 on `[`, 0.0 elsewhere")
    same_as_c = (h, value_range("h", h), list(labels.values()))       # met first, but c is not compared
    best = {b.annotation: b for b in best_cells({(0, "c"): same_as_c, (0, "h"): same_as_c}, ann)}
    assert (best["paren_depth"].view, best["paren_depth"].cell) == ("h", 0)
    assert best["paren_depth"].says == "tracks paren depth (r = +1.00)"
    # the combined depth also counts [ ] and { }: the paren cell explains less of it, by a hand-checkable r
    r = np.corrcoef(ann["bracket_depth"].values, h[:, 0])[0, 1]
    assert best["bracket_depth"].finding.stat == "r" and best["bracket_depth"].finding.score == pytest.approx(r)
    assert set(best) == set(ann.names())          # both cells vary, so every annotation has a best cell

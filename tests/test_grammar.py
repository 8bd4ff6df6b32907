"""The nested-parenthesis language: generator, oracle, validator.

Every check here is made against something computed independently in this file: depth by
counting brackets, the legal tokens at a depth from the rules as written in the design, the
entropy floor by power-iterating a transition matrix built here from those same rules.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rnnscope import grammar
from rnnscope.grammar import GrammarSpec, Verdict

DEFAULT = GrammarSpec()
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- independent re-statements of the rules --------------------------------------------------------

def legal_tokens(depth: int, spec: GrammarSpec) -> list[str]:
    """The rules of section 3, written out again: '(' below the maximum, ')' above 0, the digit d
    (at depth 0 only when the zero digit is on; never in the brackets-only grammar)."""
    legal = []
    if depth < spec.max_depth:
        legal.append("(")
    if depth > 0:
        legal.append(")")
    if spec.digits and (depth > 0 or spec.zero_digit):
        legal.append(str(depth))
    return legal


def token_weight(token: str, spec: GrammarSpec) -> float:
    return {"(": spec.open_weight, ")": spec.close_weight}.get(token, spec.digit_weight)


def tokens_and_depths(text: str, spec: GrammarSpec) -> tuple[list[str], list[int]]:
    """The tokens of a stream and the depth *before* each one, by counting brackets."""
    tokens = list(text[0::2]) if spec.separator else list(text)
    depths, d = [], 0
    for tok in tokens:
        depths.append(d)
        d += 1 if tok == "(" else -1 if tok == ")" else 0
    return tokens, depths


def brute_force_floor(spec: GrammarSpec) -> float:
    """Entropy rate per character: build the depth chain from the rules, find its stationary
    distribution by repeated squaring, weight the per-depth token entropies. The squaring runs on
    the lazy chain (P + I) / 2, which has the same stationary distribution: the brackets-only
    chain is periodic (depth parity alternates), so P^(2^50) itself would never settle."""
    n = spec.max_depth + 1
    P = np.zeros((n, n))
    entropy = np.zeros(n)
    for d in range(n):
        legal = legal_tokens(d, spec)
        w = np.array([token_weight(t, spec) for t in legal])
        p = w / w.sum()
        entropy[d] = -(p * np.log(p)).sum()
        for tok, pt in zip(legal, p):
            P[d, d + (1 if tok == "(" else -1 if tok == ")" else 0)] += pt
    M = (P + np.eye(n)) / 2
    for _ in range(50):
        M = M @ M
        M /= M.sum(axis=1, keepdims=True)
    pi = M[0]
    return float(pi @ entropy) / (2 if spec.separator else 1)


specs = st.builds(
    GrammarSpec,
    max_depth=st.integers(1, 6),
    zero_digit=st.booleans(),
    separator=st.sampled_from(["", " ", "\n", "|", "_", ".", "x"]),
    digits=st.booleans(),
)
weighted_specs = st.builds(
    GrammarSpec,
    max_depth=st.integers(1, 6),
    zero_digit=st.booleans(),
    separator=st.sampled_from(["", " ", ";"]),
    open_weight=st.floats(0.2, 5.0),
    close_weight=st.floats(0.2, 5.0),
    digit_weight=st.floats(0.2, 5.0),
    digits=st.booleans(),
)
seeds = st.integers(0, 2**32 - 1)


# --- the generator ---------------------------------------------------------------------------------

@PROPERTY
@given(spec=specs, seed=seeds, n=st.integers(1, 3000))
def test_digit_always_equals_depth(spec, seed, n):
    text = grammar.generate(n, seed=seed, spec=spec)
    tokens, depths = tokens_and_depths(text, spec)
    for tok, d in zip(tokens, depths):
        if tok.isdigit():
            assert int(tok) == d


@PROPERTY
@given(spec=specs, seed=seeds, n=st.integers(1, 3000))
def test_depth_stays_within_zero_and_max_depth(spec, seed, n):
    tokens, depths = tokens_and_depths(grammar.generate(n, seed=seed, spec=spec), spec)
    final = depths[-1] + (1 if tokens[-1] == "(" else -1 if tokens[-1] == ")" else 0)
    assert 0 <= min(depths) and max(depths + [final]) <= spec.max_depth


@PROPERTY
@given(spec=specs, seed=seeds, n=st.integers(0, 3000))
def test_every_stream_validates_and_has_exact_length(spec, seed, n):
    text = grammar.generate(n, seed=seed, spec=spec)
    assert len(text) == n
    assert grammar.validate(text, spec) == Verdict(True)


@PROPERTY
@given(spec=specs, seed=seeds, n=st.integers(1, 2000))
def test_every_token_is_legal_at_its_depth_and_separators_alternate(spec, seed, n):
    text = grammar.generate(n, seed=seed, spec=spec)
    if spec.separator:
        assert set(text[1::2]) <= {spec.separator}
    tokens, depths = tokens_and_depths(text, spec)
    for tok, d in zip(tokens, depths):
        assert tok in legal_tokens(d, spec)


@PROPERTY
@given(spec=specs, seed=seeds)
def test_stream_starts_with_open_or_zero(spec, seed):
    first = grammar.generate(1, seed=seed, spec=spec)
    assert first in (("(", "0") if spec.digits and spec.zero_digit else ("(",))


@PROPERTY
@given(spec=specs, seed=seeds, n=st.integers(100, 3000))
def test_same_seed_same_stream_different_seed_different_stream(spec, seed, n):
    assume(spec.digits or spec.max_depth > 1)       # "( ) ( ) ..." is the only stream of that language
    a = grammar.generate(n, seed=seed, spec=spec)
    assert grammar.generate(n, seed=seed, spec=spec) == a
    assert grammar.generate(n, seed=seed + 1, spec=spec) != a


def test_tuple_seeds_are_reproducible_and_distinct():
    assert grammar.generate(500, seed=(1, 2, 3)) == grammar.generate(500, seed=(1, 2, 3))
    assert grammar.generate(500, seed=(1, 2, 3)) != grammar.generate(500, seed=(1, 2, 4))


@PROPERTY
@given(zero=st.booleans(), seed=seeds, n=st.integers(1, 3000))
def test_without_zero_digit_no_zero_ever_and_only_open_at_depth_zero(zero, seed, n):
    spec = GrammarSpec(zero_digit=zero)
    text = grammar.generate(n, seed=seed, spec=spec)
    tokens, depths = tokens_and_depths(text, spec)
    at_zero = {tok for tok, d in zip(tokens, depths) if d == 0}
    if zero:
        assert at_zero <= {"(", "0"}
    else:
        assert "0" not in text
        assert at_zero == {"("}


@pytest.mark.parametrize("start_depth", [0, 2, 4])
def test_start_depth_is_honoured(start_depth):
    text = grammar.generate(2000, seed=5, start_depth=start_depth)
    assert grammar.validate(text, start_depth=start_depth).ok
    assert text[0] in legal_tokens(start_depth, DEFAULT)


def test_token_frequencies_by_depth_match_the_spec():
    """At each depth each legal token is chosen uniformly: 1/2 at depths 0 and 4, 1/3 between."""
    text = grammar.generate(200_000, seed=11)
    tokens, depths = tokens_and_depths(text, DEFAULT)
    by_depth: dict[int, Counter] = {}
    for tok, d in zip(tokens, depths):
        by_depth.setdefault(d, Counter())[tok] += 1
    assert sorted(by_depth) == [0, 1, 2, 3, 4]
    for d, counts in by_depth.items():
        legal = legal_tokens(d, DEFAULT)
        assert set(counts) == set(legal)
        n = sum(counts.values())
        p = 1 / len(legal)
        # chi-square with len(legal)-1 degrees of freedom; 25 is far beyond p = 1e-5 for df <= 2
        chi2 = sum((counts[t] - n * p) ** 2 / (n * p) for t in legal)
        assert chi2 < 25, (d, counts)
        for t in legal:
            assert abs(counts[t] / n - p) < 0.01, (d, t, counts)


def test_depth_two_chooses_open_close_and_digit_a_third_each():
    tokens, depths = tokens_and_depths(grammar.generate(200_000, seed=3), DEFAULT)
    at2 = Counter(t for t, d in zip(tokens, depths) if d == 2)
    n = sum(at2.values())
    for t in "()2":
        assert at2[t] / n == pytest.approx(1 / 3, abs=0.01)


def test_weights_shift_the_frequencies():
    spec = GrammarSpec(open_weight=3.0, close_weight=1.0, digit_weight=1.0)
    tokens, depths = tokens_and_depths(grammar.generate(100_000, seed=4, spec=spec), spec)
    at2 = Counter(t for t, d in zip(tokens, depths) if d == 2)
    assert at2["("] / sum(at2.values()) == pytest.approx(3 / 5, abs=0.015)


def test_two_million_characters_are_generated_and_valid():
    text = grammar.generate(2_000_000, seed=0)
    assert len(text) == 2_000_000
    assert grammar.validate(text).ok
    depth = grammar.annotate(text)["depth"]
    assert depth.min() == 0 and depth.max() == 4


# --- the oracle ------------------------------------------------------------------------------------

def test_annotate_depth_counts_brackets_and_kind_names_characters():
    text = "( 1 ( 2 ) 1 ) 0 x"
    ann = grammar.annotate(text)
    assert ann["depth"].tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    op, cl, dg, sp = grammar.OPEN, grammar.CLOSE, grammar.DIGIT, grammar.SEPARATOR
    assert ann["kind"].tolist() == [op, sp, dg, sp, op, sp, dg, sp, cl, sp, dg, sp, cl, sp, dg, sp, -1]


@PROPERTY
@given(spec=specs, seed=seeds, n=st.integers(1, 1500))
def test_next_char_probs_rows_sum_to_one_and_put_mass_only_on_legal_characters(spec, seed, n):
    text = grammar.generate(n, seed=seed, spec=spec)
    probs = grammar.next_char_probs(text, spec)
    assert probs.shape == (n, len(spec.alphabet))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    assert (probs >= 0).all()
    tokens, depths = tokens_and_depths(text + "?", spec)  # depth before the *next* token
    for t in range(n):
        support = {spec.alphabet[i] for i in np.flatnonzero(probs[t])}
        if spec.separator and t % 2 == 0:
            assert support == {spec.separator}
        else:
            nxt = (t + 1) // 2 if spec.separator else t + 1
            assert support == set(legal_tokens(depths[nxt], spec))
        # the character that actually came next always had positive probability
        if t + 1 < n:
            assert probs[t, spec.alphabet.index(text[t + 1])] > 0


@pytest.mark.parametrize("spec", [DEFAULT, GrammarSpec(separator="", max_depth=3, zero_digit=False),
                                  GrammarSpec(digits=False)])
def test_next_char_probs_match_empirical_conditional_frequencies(spec):
    """Group positions by their predicted row; the characters that really follow should be
    distributed as that row says."""
    text = grammar.generate(200_000, seed=21, spec=spec)
    probs = grammar.next_char_probs(text, spec)[:-1]
    nxt = np.array([spec.alphabet.index(c) for c in text[1:]])
    rows, which = np.unique(probs.round(12), axis=0, return_inverse=True)
    assert len(rows) >= spec.max_depth  # several distinct situations were seen
    for k, row in enumerate(rows):
        mask = which.ravel() == k
        n = mask.sum()
        freq = np.bincount(nxt[mask], minlength=len(row)) / n
        tol = 5 * np.sqrt(0.25 / n) + 1e-12
        assert np.abs(freq - row).max() < tol, (row, freq, n)


def test_next_char_probs_of_broken_text_are_nan_from_the_break_on():
    probs = grammar.next_char_probs("( 1 ) )")
    assert not np.isnan(probs[:6]).any()
    assert np.isnan(probs[6:]).all()


def test_next_char_distribution_on_prefixes():
    approx = pytest.approx
    assert grammar.next_char_distribution("") == approx({"(": 0.5, "0": 0.5})
    assert grammar.next_char_distribution("(") == approx({" ": 1.0})
    assert grammar.next_char_distribution("( ") == approx({"(": 1 / 3, ")": 1 / 3, "1": 1 / 3})
    assert grammar.next_char_distribution("( ( ( ( ") == approx({")": 0.5, "4": 0.5})
    assert grammar.next_char_distribution("( ( ( ( 4") == approx({" ": 1.0})
    assert grammar.next_char_distribution("0 ( ) ") == approx({"(": 0.5, "0": 0.5})
    assert grammar.next_char_distribution("", GrammarSpec(zero_digit=False)) == approx({"(": 1.0})
    assert grammar.next_char_distribution("((", GrammarSpec(separator="")) == approx({"(": 1 / 3, ")": 1 / 3,
                                                                                     "2": 1 / 3})


def test_next_char_distribution_refuses_a_prefix_outside_the_language():
    with pytest.raises(ValueError, match="not in the language.*digit 2 at depth 1"):
        grammar.next_char_distribution("( 2")


def test_default_entropy_floor_is_the_closed_form():
    expected = (4 / 13 * math.log(2) + 9 / 13 * math.log(3)) / 2
    assert expected == pytest.approx(0.48693, abs=1e-5)
    assert grammar.entropy_floor() == pytest.approx(expected, abs=1e-9)
    assert grammar.entropy_floor(GrammarSpec(separator="")) == pytest.approx(2 * expected, abs=1e-9)


def test_empirical_floor_of_a_long_stream_approaches_the_analytic_floor():
    text = grammar.generate(400_000, seed=7)
    assert abs(grammar.empirical_floor(text) - grammar.entropy_floor()) < 0.003


def test_empirical_floor_is_mean_surprisal_of_the_oracle():
    text = grammar.generate(5_000, seed=8)
    probs = grammar.next_char_probs(text)
    surprisal = [-math.log(probs[t, DEFAULT.alphabet.index(text[t + 1])]) for t in range(len(text) - 1)]
    assert grammar.empirical_floor(text) == pytest.approx(sum(surprisal) / len(surprisal), rel=1e-12)


def test_empirical_floor_refuses_text_outside_the_language():
    with pytest.raises(ValueError, match="not in the language"):
        grammar.empirical_floor("( 1 ) ) ")


@PROPERTY
@given(spec=weighted_specs)
def test_entropy_floor_equals_brute_force_power_iteration(spec):
    assert grammar.entropy_floor(spec) == pytest.approx(brute_force_floor(spec), abs=1e-9)


# --- the validator ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, spec, position, reason", [
    ("( 1 ( 2 ( 3 2", DEFAULT, 12, "digit 2 at depth 3"),
    (") ", DEFAULT, 0, "')' at depth 0 closes nothing"),
    ("( ) ) ", DEFAULT, 4, "')' at depth 0 closes nothing"),
    ("( ( ( ( ( ", DEFAULT, 8, "'(' at depth 4 exceeds the maximum depth 4"),
    ("( ( (", GrammarSpec(max_depth=2), 4, "'(' at depth 2 exceeds the maximum depth 2"),
    ("((", DEFAULT, 1, "expected separator ' ' after a token, got '('"),
    ("( 1|", DEFAULT, 3, "expected separator ' ' after a token, got '|'"),
    ("( x", DEFAULT, 2, "unknown character 'x'"),
    ("  ", DEFAULT, 0, "expected a token, got separator ' '"),
    ("0 ", GrammarSpec(zero_digit=False), 0, "digit 0 is not used at depth 0 in this grammar"),
    ("( 7", DEFAULT, 2, "digit 7 at depth 1"),
    ("(()2", GrammarSpec(separator=""), 3, "digit 2 at depth 1"),
    ("( ", GrammarSpec(separator=""), 1, "unknown character ' '"),
])
def test_validator_names_the_first_error(text, spec, position, reason):
    verdict = grammar.validate(text, spec)
    assert verdict == Verdict(False, position, f"position {position}: {reason}")
    assert not verdict


@pytest.mark.parametrize("text", ["", "(", "( ", "0 0 ( 1 ( 2 ) ) ", "( ( ( ( 4 ) 3"])
def test_validator_accepts_prefixes_of_the_stream(text):
    assert grammar.validate(text) == Verdict(True)
    assert grammar.validate(text)


@st.composite
def stream_and_mutation(draw):
    spec = draw(specs)
    text = grammar.generate(draw(st.integers(1, 400)), seed=draw(seeds), spec=spec)
    pos = draw(st.integers(0, len(text) - 1))
    return spec, text, pos, draw(st.sampled_from("()0123456789 |x\n;_."))


@PROPERTY
@given(case=stream_and_mutation())
def test_a_mutation_is_detected_at_exactly_its_position(case):
    """Replace one character. The prefix before it is untouched, so it is still valid; if the
    new character is illegal there the verdict points at exactly it, otherwise the stream may
    only fail later (a legal substitute can leave, say, an unmatched ')' downstream)."""
    spec, text, pos, new = case
    mutated = text[:pos] + new + text[pos + 1:]
    if spec.separator and pos % 2 == 1:
        allowed = {spec.separator}
    else:
        _, depths = tokens_and_depths(text, spec)
        allowed = set(legal_tokens(depths[pos // spec.chars_per_token], spec))
    verdict = grammar.validate(mutated, spec)
    if new in allowed:
        assert verdict.ok or verdict.position > pos
    else:
        assert verdict.position == pos
        assert verdict.reason.startswith(f"position {pos}: ")


def validate_by_loop(text: str, spec: GrammarSpec, start_depth: int = 0) -> Verdict:
    """The validator as first written, one character at a time: the reference for the vectorised one."""
    from rnnscope.grammar.validate import _token_problem
    sep, depth, want_token = spec.separator, start_depth, True
    for i, ch in enumerate(text):
        if sep and not want_token:
            if ch != sep:
                return Verdict(False, i, f"position {i}: expected separator {sep!r} after a token, got {ch!r}")
            want_token = True
            continue
        problem = _token_problem(ch, depth, spec)
        if problem:
            return Verdict(False, i, f"position {i}: {problem}")
        depth += 1 if ch == "(" else -1 if ch == ")" else 0
        want_token = not sep
    return Verdict(True)


@PROPERTY
@given(spec=specs, seed=seeds, n=st.integers(0, 300), start=st.integers(0, 9),
       edits=st.lists(st.tuples(st.integers(0, 299), st.sampled_from("()0123456789 |x\n;_.\u00e9")), max_size=3))
def test_the_vectorised_validator_says_what_the_character_loop_says(spec, seed, n, start, edits):
    start = min(start, spec.max_depth)
    text = list(grammar.generate(n, seed=seed, spec=spec)) if n else []
    for pos, ch in edits:
        if pos < len(text):
            text[pos] = ch
    text = "".join(text)
    assert grammar.validate(text, spec, start) == validate_by_loop(text, spec, start)


# --- parameters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"max_depth": 0}, "max_depth must be between 1 and 9"),
    ({"max_depth": 10}, "max_depth must be between 1 and 9"),
    ({"separator": "ab"}, "separator must be one ASCII character"),
    ({"separator": "("}, "separator must be one ASCII character other than a parenthesis or digit"),
    ({"separator": ")"}, "separator must be one ASCII character other than a parenthesis or digit"),
    ({"separator": "3"}, "separator must be one ASCII character other than a parenthesis or digit"),
    ({"open_weight": 0.0}, "token weights must be positive"),
    ({"digit_weight": -1.0}, "token weights must be positive"),
])
def test_bad_parameters_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GrammarSpec(**kwargs)


@pytest.mark.parametrize("weight", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(weight):
    """A NaN weight slips past `min(...) <= 0` and makes every probability NaN."""
    with pytest.raises(ValueError, match="weight"):
        GrammarSpec(open_weight=weight)


@pytest.mark.parametrize("separator", ["é", "→"])
def test_a_non_ascii_separator_is_refused(separator):
    """The stream is ASCII (generated as bytes); a wider separator is refused up front."""
    with pytest.raises(grammar.GrammarError, match="one ASCII character"):
        GrammarSpec(separator=separator)


@given(seed=st.integers(0, 2**31), short=st.integers(0, 30_000), extra=st.integers(1, 60_000))
@settings(max_examples=15, deadline=None)
def test_a_shorter_stream_is_a_prefix_of_a_longer_one(seed, short, extra):
    """Same seed, same stream: asking for more characters only extends it."""
    assert grammar.generate(short + extra, seed=seed)[:short] == grammar.generate(short, seed=seed)


def test_bad_generate_arguments_raise_value_error():
    with pytest.raises(ValueError, match="length must be non-negative, got -1"):
        grammar.generate(-1)
    with pytest.raises(ValueError, match=r"start_depth must be in 0..4, got 5"):
        grammar.generate(10, start_depth=5)
    with pytest.raises(ValueError, match=r"start_depth must be in 0..4, got -1"):
        grammar.generate(10, start_depth=-1)


def test_spec_round_trips_through_a_dict():
    spec = GrammarSpec(max_depth=6, zero_digit=False, separator="|", open_weight=2.0)
    assert GrammarSpec.from_dict(spec.to_dict()) == spec


def test_alphabet_lists_every_character_in_code_point_order():
    assert DEFAULT.alphabet == [" ", "(", ")", "0", "1", "2", "3", "4"]
    assert GrammarSpec(max_depth=2, zero_digit=False, separator="").alphabet == ["(", ")", "1", "2"]


# --- the brackets-only grammar (digits=False) ------------------------------------------------------

BRACKETS = GrammarSpec(digits=False)


def test_brackets_only_alphabet_and_rules():
    assert BRACKETS.alphabet == [" ", "(", ")"]
    assert GrammarSpec(digits=False, separator="", max_depth=7).alphabet == ["(", ")"]
    assert grammar.next_char_distribution("", BRACKETS) == pytest.approx({"(": 1.0})
    assert grammar.next_char_distribution("( ( ( ( ", BRACKETS) == pytest.approx({")": 1.0})
    assert grammar.next_char_distribution("( ( ) ", BRACKETS) == pytest.approx({"(": 0.5, ")": 0.5})


@PROPERTY
@given(max_depth=st.integers(1, 6), seed=seeds, n=st.integers(1, 3000))
def test_brackets_only_stream_has_no_digit_opens_at_zero_and_closes_at_the_maximum(max_depth, seed, n):
    spec = GrammarSpec(digits=False, max_depth=max_depth)
    text = grammar.generate(n, seed=seed, spec=spec)
    assert set(text) <= {"(", ")", " "}
    tokens, depths = tokens_and_depths(text, spec)
    for tok, d in zip(tokens, depths):
        if d == 0:
            assert tok == "("
        if d == max_depth:
            assert tok == ")"


def enumerate_streams(spec: GrammarSpec, n_tokens: int) -> dict[str, float]:
    """Every token sequence of ``n_tokens`` tokens with its probability, by walking the rules
    (legal_tokens, token_weight) of this file: the exact law of the stream's start."""
    paths = {("", 0): 1.0}
    for _ in range(n_tokens):
        nxt: dict[tuple[str, int], float] = {}
        for (toks, d), p in paths.items():
            legal = legal_tokens(d, spec)
            total = sum(token_weight(t, spec) for t in legal)
            for t in legal:
                key = (toks + t, d + (1 if t == "(" else -1 if t == ")" else 0))
                nxt[key] = nxt.get(key, 0.0) + p * token_weight(t, spec) / total
        paths = nxt
    return {toks: p for (toks, _), p in paths.items()}


@pytest.mark.parametrize("spec", [GrammarSpec(digits=False, max_depth=3, separator=""),
                                  GrammarSpec(digits=False, max_depth=2, open_weight=3.0)])
def test_brackets_only_oracle_is_the_conditional_law_of_every_prefix(spec):
    """P(next token = x | prefix) = P(prefix + x) / P(prefix), summed over every stream of 9 tokens:
    equal to the oracle after every prefix of every stream of positive probability."""
    n = 9
    law = enumerate_streams(spec, n)
    assert sum(law.values()) == pytest.approx(1.0)
    sep = spec.separator
    for k in range(n):
        mass: dict[str, dict[str, float]] = {}
        for toks, p in law.items():
            mass.setdefault(toks[:k], {}).setdefault(toks[k], 0.0)
            mass[toks[:k]][toks[k]] += p
        for prefix, nxt in mass.items():
            total = sum(nxt.values())
            expected = {t: p / total for t, p in nxt.items()}
            text = "".join(t + sep for t in prefix)
            assert grammar.next_char_distribution(text, spec) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("max_depth", [1, 2, 4, 6])
def test_brackets_only_floor_is_the_closed_form(max_depth):
    """A reflecting walk: depths 1..m-1 twice as likely as the ends, so a token is a coin flip
    with probability (m - 1) / m; ln 2 nats each, halved by the free separators."""
    spec = GrammarSpec(digits=False, max_depth=max_depth)
    expected = (max_depth - 1) / max_depth * math.log(2) / 2
    assert grammar.entropy_floor(spec) == pytest.approx(expected, abs=1e-9)
    assert grammar.empirical_floor(grammar.generate(200_000, seed=max_depth, spec=spec), spec) == pytest.approx(
        expected, abs=0.004)


def test_brackets_only_may_go_deeper_than_nine_digits_would_allow():
    """Digits name depths 0..9; without them only the generator's cost bounds the depth."""
    spec = GrammarSpec(digits=False, max_depth=20)
    text = grammar.generate(100_000, seed=2, spec=spec)
    assert grammar.validate(text, spec).ok and grammar.annotate(text, spec)["depth"].max() == 20
    with pytest.raises(grammar.GrammarError, match="between 1 and 99 in the brackets-only grammar, got 100"):
        GrammarSpec(digits=False, max_depth=100)
    with pytest.raises(grammar.GrammarError, match="between 1 and 9 .digits name the depth., got 10"):
        GrammarSpec(max_depth=10)


def test_brackets_only_validation_names_a_digit():
    verdict = grammar.validate("( 1 ", BRACKETS)
    assert (verdict.ok, verdict.position) == (False, 2)
    assert verdict.reason == "position 2: digit 1: this grammar has no digits (brackets only)"


def test_a_spec_saved_before_digits_existed_has_digits():
    old = {k: v for k, v in DEFAULT.to_dict().items() if k != "digits"}
    assert GrammarSpec.from_dict(old) == DEFAULT and DEFAULT.digits
    assert GrammarSpec.from_dict(BRACKETS.to_dict()) == BRACKETS
    with pytest.raises(grammar.GrammarError, match="digits must be true or false, got 'false'"):
        GrammarSpec(digits="false")

"""Training data made faster stays the same data: the grammar's compiled walk against the
vectorised block walk it replaced (written out again here), the float32 soft targets against the
float64 oracle rounded, a text epoch against encoding and rotating the text by hand. A run's losses
depend on nothing else from the data, so a run's losses are unchanged step for step."""
from __future__ import annotations

import numpy as np
import pytest

from rnnscope import grammar
from rnnscope.grammar import GrammarSpec
from rnnscope.models.data.batches import GrammarData, TextData

SPECS = [GrammarSpec(), GrammarSpec(separator="", max_depth=3, zero_digit=False), GrammarSpec(digits=False),
         GrammarSpec(max_depth=1), GrammarSpec(open_weight=3.0, close_weight=1.0, digit_weight=1.0)]


def block_walk_stream(n_chars: int, seed, spec: GrammarSpec, start_depth: int = 0) -> str:
    """The earlier generator: each block of sqrt(n) tokens walked from every depth at once
    (vectorised over blocks), the blocks then chained by their actual start depths."""
    n_tokens = -(-n_chars // spec.chars_per_token)
    rng = np.random.default_rng(seed)
    table = spec.token_table()
    n_depths, width = spec.max_depth + 1, max(len(options) for options in table)
    cum = np.full((n_depths, width), 2.0)
    code = np.zeros((n_depths, width), dtype=np.uint8)
    step = np.zeros((n_depths, width), dtype=np.int8)
    for d, options in enumerate(table):
        cum[d, : len(options)] = np.cumsum([p for _, _, p in options])
        cum[d, len(options) - 1] = 2.0
        code[d, : len(options)] = [ord(tok) for tok, _, _ in options]
        step[d, : len(options)] = [s for _, s, _ in options]
    block = max(64, int(np.sqrt(n_tokens)))
    n_blocks = -(-n_tokens // block)
    u = rng.random(n_blocks * block).reshape(n_blocks, block)
    depth = np.broadcast_to(np.arange(n_depths, dtype=np.int8), (n_blocks, n_depths)).copy()
    choices = np.empty((block, n_blocks, n_depths), dtype=np.uint8)
    for j in range(block):
        k = (u[:, j, None, None] >= cum[depth]).sum(axis=-1)
        choices[j] = code[depth, k]
        depth += step[depth, k]
    starts, d = np.empty(n_blocks, dtype=np.int64), start_depth
    for b in range(n_blocks):
        starts[b], d = d, depth[b, d]
    codes = np.ascontiguousarray(choices[:, np.arange(n_blocks), starts].T).reshape(-1)[:n_tokens]
    if spec.separator:
        out = np.full(2 * n_tokens, ord(spec.separator), dtype=np.uint8)
        out[0::2] = codes
        codes = out
    return codes[:n_chars].tobytes().decode("ascii")


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("n_chars", [0, 1, 2, 127, 4_096, 20_001, 150_000])
def test_the_compiled_walk_makes_the_block_walks_streams(spec, n_chars):
    for seed in [0, 7, (0, 1, 3, 5)]:
        start = min(2, spec.max_depth) if seed == 7 else 0
        made = grammar.generate(n_chars, seed=seed, spec=spec, start_depth=start)
        assert made == block_walk_stream(n_chars, seed, spec, start)


@pytest.mark.parametrize("spec", SPECS[:3])
def test_float32_soft_targets_are_the_float64_oracle_rounded(spec):
    text = grammar.generate(5_000, seed=3, spec=spec)
    exact = grammar.next_char_probs(text, spec)
    assert np.array_equal(grammar.next_char_probs(text, spec, trusted=True, dtype=np.float32),
                          exact.astype(np.float32))
    assert np.allclose(exact.sum(axis=1), 1.0)
    broken = text[:100] + ")))))" + text[100:200]           # NaN from the first bad character, either dtype
    assert np.array_equal(grammar.next_char_probs(broken, spec, dtype=np.float32),
                          grammar.next_char_probs(broken, spec).astype(np.float32), equal_nan=True)


@pytest.mark.parametrize("spec", SPECS[:2])
def test_a_grammar_epoch_is_its_rows_streams_and_their_oracle(spec):
    data = GrammarData(spec, row_chars=999, soft_targets=True, seed=3)
    ids, soft = data.epoch(2, 5)
    share, share_soft = data.epoch(2, 5, rows=range(1, 4))
    for r in range(5):
        stream = block_walk_stream(1000, (3, 1, 2, r), spec)
        assert np.array_equal(ids[r], data.vocab.encode(stream))
        assert soft.dtype == np.float32
        assert np.array_equal(soft[r], grammar.next_char_probs(stream, spec).astype(np.float32))
    assert np.array_equal(share, ids[1:4]) and np.array_equal(share_soft, soft[1:4])


def test_a_text_epoch_is_the_text_encoded_and_rotated(tmp_path):
    text = "".join(f"line {i}: {'ab' * (i % 7)} é\n" for i in range(400))
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    data = TextData(tmp_path / "t.txt")
    ids = data.vocab.encode(data.train_text)
    for epoch in (0, 1, 2):
        rows, _ = data.epoch(epoch, 8)
        offset = int(np.random.default_rng((0, 4, epoch)).integers(len(ids)))
        per_row = len(ids) // 8
        assert np.array_equal(rows, np.roll(ids, -offset)[: per_row * 8].reshape(8, per_row))
        rows[:] = 0    # a caller changing its rows changes nothing for the next epoch
    assert data.char_counts() == np.bincount(ids, minlength=len(data.vocab)).tolist()


def test_the_floor_is_the_mean_surprisal_of_each_next_character():
    text = grammar.generate(3_000, seed=9)
    probs = grammar.next_char_probs(text)
    alphabet = GrammarSpec().alphabet
    by_hand = -np.mean([np.log(probs[t, alphabet.index(text[t + 1])]) for t in range(len(text) - 1)])
    assert grammar.empirical_floor(text) == pytest.approx(by_hand, rel=1e-12)
    for bad in (text[:-1] + "x", text[:100] + "x" + text[100:]):    # outside the alphabet, last or inside
        with pytest.raises(grammar.GrammarError, match="not in the language"):
            grammar.empirical_floor(bad)

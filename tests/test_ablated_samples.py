"""Sampling under an ablation (docs/methods.md, Ablation): the batched lock-step sampler against a NumPy
sampler written here from the cell equations and the same uniforms; a cell nothing reads
changes no sample; the shipped GRU stops writing the language when its depth cells are ablated."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnscope import grammar
from rnnscope.analysis.intervene.ablation import grammatical_shares, held_out_means
from rnnscope.models.network import checkpoint, reference
from rnnscope.models.reading import tracer
from rnnscope.models.reading.ablation import Ablation, sample_ablated
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.data.heldout import heldout_of
from rnnscope.models.network.model import CharRNN, ModelConfig


torch.set_num_threads(1)
VOCAB = grammar.GrammarSpec().alphabet


def tiny(cell: str = "gru", layers: int = 2) -> CharRNN:
    torch.manual_seed(5)
    return CharRNN(ModelConfig(vocab=VOCAB, cell=cell, hidden_size=5, num_layers=layers, embedding_dim=4)).eval()


def numpy_samples(model: CharRNN, n: int, chars: int, temperature: float, seed: int, prime: str,
                  clamp: dict[int, tuple[list[int], float]]) -> list[str]:
    """One sample at a time: the cell equations of models/network/reference.py, layer ``k``'s cells
    clamp[k][0] set to clamp[k][1] after every step, and the first character whose cumulative
    probability exceeds u; u[i] at step t is the i-th of torch.rand(n) drawn t-th from the seed."""
    gen = torch.Generator().manual_seed(seed)
    uniforms = np.stack([torch.rand(n, generator=gen, dtype=torch.float64).numpy() for _ in range(chars)])
    layers = [model.layer_arrays(k) for k in range(model.config.num_layers)]
    W = lambda k: [layers[k][name] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]  # noqa: E731
    dec_w, dec_b = model.decoder.weight.detach().double().numpy(), model.decoder.bias.detach().double().numpy()
    embed = model.input_vectors("".join(VOCAB))
    out = []
    for i in range(n):
        hs, cs = [np.zeros(5) for _ in layers], [np.zeros(5) for _ in layers]
        step = lambda ch: numpy_step(model, W, embed[VOCAB.index(ch)], hs, cs, clamp)  # noqa: E731,B023
        for ch in prime:
            top = step(ch)
        text = ""
        for t in range(chars):
            p = reference.softmax((dec_w @ top + dec_b) / temperature)
            ch = VOCAB[int(np.argmax(np.cumsum(p) > uniforms[t, i] * p.sum()))]
            text += ch
            top = step(ch)
        out.append(text)
    return out


def numpy_step(model, W, x, hs, cs, clamp):
    """Every layer one step (``hs``, ``cs`` updated in place), clamped cells replaced; the top h."""
    for k in range(len(hs)):
        if model.config.cell == "lstm":
            hs[k], cs[k], _ = reference.lstm_step(x, hs[k], cs[k], *W(k))
        else:
            hs[k], _ = reference.gru_step(x, hs[k], *W(k))
        if k in clamp:
            hs[k] = hs[k].copy()
            hs[k][clamp[k][0]] = clamp[k][1]
        x = hs[k]
    return x


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_samples_equal_a_numpy_sampler_intact_and_clamped(cell):
    model = tiny(cell)
    variants = [[], [Ablation(0, (1, 4), "clamp", 0.7)], [Ablation(1, (0,), "zero")]]
    got = sample_ablated(model, variants, n_samples=4, n_chars=60, temperature=0.8, seed=3, prime="( ")
    assert got[0] == numpy_samples(model, 4, 60, 0.8, 3, "( ", {})
    assert got[1] == numpy_samples(model, 4, 60, 0.8, 3, "( ", {0: ([1, 4], 0.7)})
    assert got[2] == numpy_samples(model, 4, 60, 0.8, 3, "( ", {1: ([0], 0.0)})
    assert got[0] != got[1]                       # the clamp moves the samples (else the test proves nothing)


def test_a_cell_nothing_reads_changes_no_sample():
    model = tiny("gru", 1)
    with torch.no_grad():
        model.rnn.weight_hh_l0[:, 2] = 0           # no gate reads it back
        model.decoder.weight[:, 2] = 0             # nor the decoder
    intact, clamped, zeroed = sample_ablated(model, [[], [Ablation(0, (2,), "clamp", -0.9)],
                                                     [Ablation(0, (2,), "zero")]], 20, 80, seed=1)
    assert clamped == intact and zeroed == intact
    assert len(set(intact)) > 1                    # 20 different samples: the draws vary by sample


@pytest.mark.parametrize("kwargs, message", [
    ({"n_samples": 0}, "number of samples must be between 1"),
    ({"n_chars": 0}, "sample length must be between 1"),
    ({"temperature": 0.0}, "temperature must be positive"),
    ({"prime": ""}, "the prime is empty"),
    ({"prime": "(x"}, "x"),
    ({"variants": [[Ablation(0, (7,), "zero")]]}, r"cells \[7\] do not exist"),
    ({"variants": [[Ablation(0, (1,), "mean")]]}, "needs the held-out mean"),
    ({"variants": []}, "no variants"),
])
def test_bad_sampling_requests_are_refused(kwargs, message):
    args = {"variants": [[]], "n_samples": 2, "n_chars": 10, **kwargs}
    with pytest.raises(RnnscopeError, match=message):
        sample_ablated(tiny(), **args)


def in_language(text: str, max_depth: int = 4) -> bool:
    """The default grammar, checked here without grammar/: tokens at even positions, spaces at
    odd ones; '(' below the maximum depth, ')' above 0, a digit equal to the depth."""
    depth = 0
    for i, ch in enumerate(text):
        if i % 2:
            if ch != " ":
                return False
        elif ch == "(" and depth < max_depth:
            depth += 1
        elif ch == ")" and depth > 0:
            depth -= 1
        elif ch != str(depth):
            return False
    return True


def test_the_shipped_gru_stops_writing_the_language_without_its_depth_cell(default_model):
    model = checkpoint.load(default_model)
    held = heldout_of(default_model)
    tr = tracer.trace(model, held.text[:20_000])
    depth = held.annotations["depth"][:20_000]
    r = [abs(np.corrcoef(tr.hidden[0][:, c], depth)[0, 1]) if tr.hidden[0][:, c].std() > 0 else 0 for c in range(15)]
    best = int(np.argmax(r))                       # the cell that tracks depth best
    intact, ablated = grammatical_shares(model, held.spec, [[], [Ablation(0, (best,), "mean")]],
                                         held_out_means(tr.hidden), n=50, chars=200)
    for share in (intact, ablated):
        assert share.grammatical == [in_language(t) for t in share.texts]
        assert len(share.reasons) == share.grammatical.count(False)
    assert intact.share >= 0.9 and ablated.share <= 0.3
    assert all(t.startswith("(") and len(t) == 201 for t in ablated.texts)

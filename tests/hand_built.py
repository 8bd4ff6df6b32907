"""Models built by hand whose cells mean something by construction, so a test knows every state without
training: counters that never forget (for the state store and the torch lanes: no burn-in reaches the
true state, so every seam must be recomputed) and a depth counter (for the labeller: cell 0 is the
bracket depth exactly)."""
from __future__ import annotations

import torch

from rnnscope.models.network.model import CharRNN, ModelConfig


def counter(layers: int = 2) -> CharRNN:
    """A ReLU RNN that never forgets: h[j] of layer 0 counts the `j`-th character so far (one-hot
    input, identity recurrence); layer 1 copies it (identity input, no recurrence)."""
    model = CharRNN(ModelConfig(vocab=["a", "b", "c"], cell="rnn", nonlinearity="relu", hidden_size=3,
                                num_layers=layers, embedding_dim=None)).eval()
    with torch.no_grad():
        for k in range(layers):
            getattr(model.rnn, f"weight_ih_l{k}").copy_(torch.eye(3))
            getattr(model.rnn, f"weight_hh_l{k}").copy_(torch.eye(3) if k == 0 else torch.zeros(3, 3))
            getattr(model.rnn, f"bias_ih_l{k}").zero_()
            getattr(model.rnn, f"bias_hh_l{k}").zero_()
    return model


def lstm_counter() -> CharRNN:
    """An LSTM whose cell state c counts `a` minus `b` and never forgets (input, forget and output
    gates held open); h = tanh(c) is +-1.0 in float32 once |c| > 9, so at a seam deep in a run of
    `a` the burn-in h equals the true h exactly while c does not: the seam check must read c."""
    model = CharRNN(ModelConfig(vocab=["a", "b"], cell="lstm", hidden_size=1, embedding_dim=None)).eval()
    with torch.no_grad():
        model.rnn.weight_ih_l0.copy_(torch.tensor([[0.0, 0.0], [0.0, 0.0], [20.0, -20.0], [0.0, 0.0]]))
        model.rnn.weight_hh_l0.zero_()
        model.rnn.bias_ih_l0.copy_(torch.tensor([30.0, 30.0, 0.0, 30.0]))
        model.rnn.bias_hh_l0.zero_()
    return model


# Source code with ( [ { nested, for the text annotations and a depth counter over them.
CODE = ("def f(a, b):\n    return g(a, [b, (a)])\n\n"
        "x = {1: h(2)}\nprint(f(x, (3, 4)))\n") * 40


def depth_counter(vocab: list[str], marker: str) -> CharRNN:
    """A ReLU RNN on one-hot input: cell 0 is the `(` `)` depth, h0' = relu(h0 + [`(`] - [`)`]); cell 1 is
    1 on ``marker`` and 0 elsewhere."""
    model = CharRNN(ModelConfig(vocab=vocab, cell="rnn", nonlinearity="relu", hidden_size=2, embedding_dim=None))
    with torch.no_grad():
        for w in model.rnn.parameters():
            w.zero_()
        model.rnn.weight_hh_l0[0, 0] = 1.0
        model.rnn.weight_ih_l0[0, vocab.index("(")] = 1.0
        model.rnn.weight_ih_l0[0, vocab.index(")")] = -1.0
        model.rnn.weight_ih_l0[1, vocab.index(marker)] = 1.0
    return model.eval()


def depth_reader(vocab: list[str], layers: int = 1) -> CharRNN:
    """A ReLU RNN on one-hot input whose next-character distribution reads the `(` `)` depth from exactly
    two cells, 0 (the depth) and 2 (twice the depth), and from cell 4 (1 on `:`), which the current
    character fixes. Cell 1 is a second copy of the depth that the decoder never reads (it correlates
    perfectly and causes nothing); cells 3, 5, 6, 7 count newlines, `a`, `e` and `r` (they differ between
    contexts, unread). With ``layers`` = 2, layer 1 copies layer 0 (identity input, no recurrence) and
    the decoder reads layer 1."""
    H = 8
    model = CharRNN(ModelConfig(vocab=vocab, cell="rnn", nonlinearity="relu", hidden_size=H, num_layers=layers,
                                embedding_dim=None))
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for w in model.parameters():
            w.zero_()
        w_ih, w_hh = model.rnn.weight_ih_l0, model.rnn.weight_hh_l0
        for cell, step in ((0, 1.0), (1, 1.0), (2, 2.0)):
            w_hh[cell, cell] = 1.0
            w_ih[cell, vocab.index("(")], w_ih[cell, vocab.index(")")] = step, -step
        for cell, ch in ((3, "\n"), (5, "a"), (6, "e"), (7, "r")):
            w_hh[cell, cell], w_ih[cell, vocab.index(ch)] = 1.0, 1.0
        w_ih[4, vocab.index(":")] = 1.0
        if layers == 2:
            model.rnn.weight_ih_l1.copy_(torch.eye(H))
        for cell in (0, 2, 4):
            model.decoder.weight[:, cell] = torch.randn(len(vocab), generator=gen)
        model.decoder.bias.copy_(torch.randn(len(vocab), generator=gen))
    return model.eval()

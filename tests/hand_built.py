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


GAIN = 20.0      # a legal character's logit over an illegal one's: p(illegal) ~ e^-20


def dfa_network(dfa) -> CharRNN:
    """A ReLU RNN that is ``dfa`` (a grammar/dfa.py Dfa whose only rejecting state is a sink) by construction.
    One unit per (live state q, character a): on (exactly 1) iff the automaton is in q, reached by reading
    a; all units off is the start, before any character. Unit (q', a') = relu(x[a'] + [the state now goes
    to q' on a'] - 1): an AND of two 0/1 values, exact in floating point. The decoder gives every character
    legal in the current state the same logit GAIN and every other 0, so the legal ones share the mass."""
    vocab = list(dfa.alphabet)
    live = [q for q in range(dfa.n_states) if dfa.accepting[q]]
    units = [(q, a) for q in live for a in range(len(vocab))]
    model = CharRNN(ModelConfig(vocab=vocab, cell="rnn", nonlinearity="relu", hidden_size=len(units),
                                embedding_dim=None)).eval()
    with torch.no_grad():
        for w in model.parameters():
            w.zero_()
        for j, (q2, a2) in enumerate(units):
            model.rnn.weight_ih_l0[j, a2] = 1.0
            _wire(model, dfa, units, j, dfa.start, +1.0)
            for i, (q, _) in enumerate(units):
                model.rnn.weight_hh_l0[j, i] += float(dfa.transitions[q, a2] == q2)
            model.rnn.bias_ih_l0[j] -= 1.0
            for i, (q, _) in enumerate(units):
                for c in range(len(vocab)):
                    model.decoder.weight[c, i] = GAIN * float(dfa.accepting[dfa.transitions[q, c]])
    return model


def _wire(model, dfa, units, j, start, sign):
    """The start's part of unit j: when no unit is on, 1 - sum(units) is 1 and stands for the start."""
    q2, a2 = units[j]
    if dfa.transitions[start, a2] == q2:
        model.rnn.bias_ih_l0[j] += sign
        model.rnn.weight_hh_l0[j, :] -= sign


def rewire(model: CharRNN, dfa, state: int, char: str, new: int) -> CharRNN:
    """The network of ``dfa_network(dfa)`` with one transition moved: from ``state`` on ``char`` it now goes
    to ``new``. Only the weights into the two units (old target, char) and (new, char) from the units of
    ``state`` change (and, for the start, their biases)."""
    vocab = list(dfa.alphabet)
    live = [q for q in range(dfa.n_states) if dfa.accepting[q]]
    units = [(q, a) for q in live for a in range(len(vocab))]
    a = vocab.index(char)
    old = int(dfa.transitions[state, a])
    j_old, j_new = units.index((old, a)), units.index((new, a))
    with torch.no_grad():
        for i, (q, _) in enumerate(units):
            if q == state:
                model.rnn.weight_hh_l0[j_old, i] -= 1.0
                model.rnn.weight_hh_l0[j_new, i] += 1.0
        if state == dfa.start:
            # the start's term: its bias on, its weights from every unit off
            model.rnn.bias_ih_l0[j_old] -= 1.0
            model.rnn.weight_hh_l0[j_old, :] += 1.0
            model.rnn.bias_ih_l0[j_new] += 1.0
            model.rnn.weight_hh_l0[j_new, :] -= 1.0
    return model


def start_counts(dfa) -> list[int]:
    """A start distribution for the training record: 1 for each character legal first, else 0."""
    return [int(dfa.accepting[dfa.transitions[dfa.start, c]]) for c in range(len(dfa.alphabet))]


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

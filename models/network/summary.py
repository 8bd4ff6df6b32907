"""A Keras-style summary of a model: each layer, its output shape, its parameter count with the
formula that gives it, and the cell's equations with the model's own sizes; as text for people
(``summary``) and as plain data for scripts and the app's Model tab (``summary_data``), from the
same rows.

Shapes use seed 003's letters: N sequences in a batch, T steps, D input features, M hidden units,
K outputs. A layer's count is seed 004's formula per gate, units·units + features·units + biases,
with one difference said out loud: torch keeps two bias vectors per gate (b_ih and b_hh) where
Keras' SimpleRNN and LSTM keep one, so a torch layer has M more parameters per gate.
"""
from __future__ import annotations

from rnnscope.models.network.model import CharRNN

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
LETTERS = {"N": "sequences in a batch", "T": "steps (characters) in a sequence", "D": "input features",
           "M": "hidden units", "K": "outputs"}


def sizes(model: CharRNN) -> dict[str, int | None]:
    """N and T are free (None); D, M, K as this model's tensors have them (K: the decoder's outputs,
    or the state itself for a task model, whose prediction is h)."""
    rnn = model.rnn
    K = model.decoder.weight.shape[0] if model.decoder is not None else rnn.weight_hh_l0.shape[1]
    return {"N": None, "T": None, "D": int(rnn.weight_ih_l0.shape[1]), "M": int(rnn.weight_hh_l0.shape[1]),
            "K": int(K)}


def summary_data(model: CharRNN) -> dict:
    """Rows of {layer, output_shape, params, formula}, the total (and what Keras would count), the
    sizes, the equations, the vocabulary and the model config."""
    cfg = model.config
    S = sizes(model)
    D, M, K, V = S["D"], S["M"], S["K"], len(cfg.vocab)
    rows = []
    if model.embed is not None:
        rows.append(("embed (Embedding)", f"(N, T, {D})", _count(model.embed), f"V·D = {V}·{D}"))
    elif cfg.scalar_input:
        rows.append(("scalar input (a digit's value)", "(N, T, 1)", 0, "no parameters"))
    else:
        rows.append(("one-hot input", f"(N, T, {D})", 0, "no parameters"))
    per_layer = {}
    for name, p in model.rnn.named_parameters():
        layer = int(name.rsplit("_l", 1)[1])
        per_layer[layer] = per_layer.get(layer, 0) + p.numel()
    gates = GATES[cfg.cell]
    for layer in range(cfg.num_layers):
        kind = cfg.cell.upper() + (f" {cfg.nonlinearity}" if cfg.cell == "rnn" and cfg.nonlinearity != "tanh" else "")
        features = "D" if layer == 0 else "M"
        n_in = D if layer == 0 else M
        biases = (" + 2·M", f" + 2·{M}") if cfg.bias else ("", "")
        formula = (f"{gates} gate(s) × (M·M + {features}·M{biases[0]}) = "
                   f"{gates} × ({M}·{M} + {n_in}·{M}{biases[1]})")
        rows.append((f"rnn layer {layer} ({kind}, {cfg.hidden_size} units{'' if cfg.bias else ', no bias'})",
                     f"(N, T, {M})", per_layer[layer], formula))
    if model.decoder is not None:
        rows.append(("decoder (Linear)", f"(N, T, {K})", _count(model.decoder), f"M·K + K = {M}·{K} + {K}"))
    else:
        rows.append((f"prediction: h at the last step (task {cfg.task})", f"(N, {M})", 0, "no parameters"))
    total = sum(r[2] for r in rows)
    one_bias = total - (gates * M * cfg.num_layers if cfg.bias else 0)
    return {"layers": [{"layer": name, "output_shape": shape, "params": count, "formula": formula}
                       for name, shape, count, formula in rows],
            "total_params": total,
            "one_bias_params": {"value": one_bias, "note": "the count with one bias vector per gate, as Keras' "
                                                           "SimpleRNN and LSTM keep (torch keeps b_ih and b_hh)"},
            "sizes": S, "letters": LETTERS, "equations": equations(model),
            "vocab": "".join(cfg.vocab), "model": cfg.to_dict()}


def equations(model: CharRNN) -> list[str]:
    """The model's equations, one line each, with every matrix's shape as the loaded model holds it."""
    cfg, rnn = model.config, model.rnn
    V = len(cfg.vocab)
    if model.embed is not None:
        E = tuple(model.embed.weight.shape)
        lines = [f"x_t = E[c_t], the embedding row of character c_t    E [{E[0]}×{E[1]}] (V×D)"]
    elif cfg.scalar_input:
        lines = ["x_t = the digit c_t as a number    x_t [1] (D = 1)"]
    else:
        lines = [f"x_t = one-hot(c_t)    x_t [{V}] (D = V = {V})"]
    for layer in range(cfg.num_layers):
        W_ih, W_hh = (tuple(getattr(rnn, f"{n}_l{layer}").shape) for n in ("weight_ih", "weight_hh"))
        M, n_in = W_hh[1], W_ih[1]
        inp = "x_t" if layer == 0 else f"h_t of layer {layer - 1}"
        lines.append(f"layer {layer} ({cfg.cell.upper()}, input {inp}: {n_in} features, state: {M} units):")
        lines += [f"  {line}" for line in _cell_lines(cfg.cell, cfg.nonlinearity, M, n_in, cfg.bias)]
    M = cfg.hidden_size
    if model.decoder is not None:
        K = model.decoder.weight.shape[0]
        lines.append(f"p(c_t+1 | c_1..c_t) = softmax(W_dec h_t + b_dec)    W_dec [{K}×{M}] (K×M), b_dec [{K}]")
    else:
        lines.append(f"prediction = h_T, the last state itself (task {cfg.task}: no decoder)    h_T [{M}]")
    return lines


def _cell_lines(cell: str, nonlinearity: str, M: int, n_in: int, bias: bool) -> list[str]:
    """One cell's equations (torch's form, as models/network/reference.py computes them) and its shapes."""
    def b(name: str) -> str:
        return f" + b_{name}" if bias else ""

    def gate(n: str) -> str:
        return f"W_i{n} x_t{b('i' + n)} + W_h{n} h_t-1{b('h' + n)}"

    def shapes(names: str) -> str:
        return (f"    {', '.join(f'W_i{g}' for g in names)} [{M}×{n_in}] each; "
                f"{', '.join(f'W_h{g}' for g in names)} [{M}×{M}] each"
                + (f"; b_i·, b_h· [{M}] each (two bias vectors per gate)" if bias else "; no biases"))
    if cell == "rnn":
        inner = f"W_ih x_t{b('ih')} + W_hh h_t-1{b('hh')}"
        act = {"tanh": f"tanh({inner})", "relu": f"relu({inner})", "linear": f"{inner}    (linear: no activation)"}
        return [f"h_t = {act[nonlinearity]}",
                f"    W_ih [{M}×{n_in}], W_hh [{M}×{M}]" + (f", b_ih, b_hh [{M}] each" if bias else ", no biases")]
    if cell == "gru":
        return [f"r_t = σ({gate('r')})    reset gate", f"z_t = σ({gate('z')})    update gate",
                f"n_t = tanh(W_in x_t{b('in')} + r_t ⊙ (W_hn h_t-1{b('hn')}))    candidate",
                "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_t-1", shapes("rzn")]
    return [f"i_t = σ({gate('i')})    input gate", f"f_t = σ({gate('f')})    forget gate",
            f"g_t = tanh({gate('g')})    cell input", f"o_t = σ({gate('o')})    output gate",
            "c_t = f_t ⊙ c_t-1 + i_t ⊙ g_t", "h_t = o_t ⊙ tanh(c_t)", shapes("ifgo")]


def summary(model: CharRNN) -> str:
    data = summary_data(model)
    rows = [(r["layer"], r["output_shape"], r["params"]) for r in data["layers"]]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'Layer (type)':<{width}}{'Output shape':<16}{'Param #':>9}", "=" * (width + 25)]
    lines += [f"{name:<{width}}{shape:<16}{count:>9,}" for name, shape, count in rows]
    S = data["sizes"]
    lines += ["=" * (width + 25), f"Total params: {data['total_params']:,} (all trainable)",
              f"Vocabulary ({len(data['vocab'])}): {data['vocab']!r}", "",
              "Sizes: " + ", ".join(f"{k} = {S[k] if S[k] is not None else 'any'} ({v})"
                                    for k, v in data["letters"].items()),
              "Parameters, per layer (per gate: units·units + features·units + biases):"]
    lines += [f"  {r['layer']}: {r['formula']} = {r['params']:,}" for r in data["layers"] if r["params"]]
    lines += [f"  total with one bias vector per gate (Keras' SimpleRNN and LSTM; torch keeps two): "
              f"{data['one_bias_params']['value']:,}", "",
              "Equations:"]
    lines += [f"  {line}" for line in data["equations"]]
    return "\n".join(lines)


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())

"""A Keras-style summary of a model: each layer, its output shape, its parameter count; as text
for people (``summary``) and as plain data for scripts (``summary_data``), from the same rows."""
from __future__ import annotations

from .model import CharRNN


def summary_data(model: CharRNN) -> dict:
    """Rows of {layer, output_shape, params}, the total, the vocabulary and the model config."""
    cfg = model.config
    rows = []
    if model.embed is not None:
        rows.append(("embed (Embedding)", f"(T, {cfg.embedding_dim})", _count(model.embed)))
    else:
        rows.append(("one-hot input", f"(T, {len(cfg.vocab)})", 0))
    per_layer = {}
    for name, p in model.rnn.named_parameters():
        layer = int(name.rsplit("_l", 1)[1])
        per_layer[layer] = per_layer.get(layer, 0) + p.numel()
    for layer in range(cfg.num_layers):
        kind = cfg.cell.upper() + (f" {cfg.nonlinearity}" if cfg.cell == "rnn" and cfg.nonlinearity != "tanh" else "")
        rows.append((f"rnn layer {layer} ({kind}, {cfg.hidden_size} units{'' if cfg.bias else ', no bias'})",
                     f"(T, {cfg.hidden_size})", per_layer[layer]))
    rows.append(("decoder (Linear)", f"(T, {len(cfg.vocab)})", _count(model.decoder)))
    return {"layers": [{"layer": name, "output_shape": shape, "params": count} for name, shape, count in rows],
            "total_params": sum(r[2] for r in rows), "vocab": "".join(cfg.vocab), "model": cfg.to_dict()}


def summary(model: CharRNN) -> str:
    data = summary_data(model)
    rows = [(r["layer"], r["output_shape"], r["params"]) for r in data["layers"]]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'Layer (type)':<{width}}{'Output shape':<16}{'Param #':>9}", "=" * (width + 25)]
    lines += [f"{name:<{width}}{shape:<16}{count:>9,}" for name, shape, count in rows]
    lines += ["=" * (width + 25), f"Total params: {data['total_params']:,} (all trainable)",
              f"Vocabulary ({len(data['vocab'])}): {data['vocab']!r}"]
    return "\n".join(lines)


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())

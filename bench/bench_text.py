"""Text training benchmark: rnnscope's trainer on the python-stdlib corpus beside a bare torch loop of
the same shape (embedding -> LSTM -> linear, the same batch of rows, windows, carried state, Adam and
clipping) measured in the same run, alternating, best of each. The ratio is what the trainer's extras
cost (data rows, the loss bookkeeping, the resume state and metrics saved at each evaluation).
Writes the "Text training" section of bench/RESULTS.md.

    python bench/bench_text.py            # LSTM-128, batch 64 x 100, 60 steps a round, 2 rounds
    python bench/bench_text.py --quick    # smaller, for a smoke run (does not write RESULTS.md)
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402

from rnnscope.models.data import corpus  # noqa: E402
from rnnscope.models.data.batches import TextData  # noqa: E402
from rnnscope.models.network.model import CharRNN, ModelConfig  # noqa: E402
from rnnscope.models.training.train import TrainConfig, train  # noqa: E402


def trainer_chars_per_s(data, config, batch, steps) -> float:
    """Steady state: between the first and the last evaluation (start-up and the first rows excluded)."""
    with tempfile.TemporaryDirectory() as tmp:
        record = train(data, config, TrainConfig(steps=2 * steps, batch_size=batch, device="cpu", eval_every=steps,
                                                 threads=1, lr=0.005), Path(tmp) / "m", progress=False)
    first, last = record["history"][0], record["history"][-1]
    return (last["chars"] - first["chars"]) / (last["seconds"] - first["seconds"])


def bare_chars_per_s(data, config, batch, steps) -> float:
    """The same shape in plain torch: rows cut from the text, carried state, Adam, clipping; no evaluation."""
    torch.manual_seed(0)
    model = CharRNN(config)
    opt = torch.optim.Adam(model.parameters(), lr=0.005)
    ids = torch.as_tensor(data.vocab.encode(data.train_text))
    per_row = len(ids) // batch
    rows = ids[: per_row * batch].reshape(batch, per_row)
    state, pos = None, 0
    t = time.perf_counter()
    for _ in range(steps):
        x, y = rows[:, pos:pos + 100], rows[:, pos + 1:pos + 101]
        pos += 100
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
    return steps * batch * 100 / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    steps, rounds, chars = (10, 1, 400_000) if args.quick else (60, 2, 3_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        text, record = corpus.python_stdlib(chars)
        path = Path(tmp) / "python-stdlib.txt"
        path.write_text(text)
        data = TextData(path)
        config = ModelConfig(vocab=data.vocab.chars, cell="lstm", hidden_size=128, embedding_dim=32)
        ours, bare = [], []
        for _ in range(rounds):     # alternate, so both see the same load on a shared machine
            bare.append(bare_chars_per_s(data, config, 64, steps))
            ours.append(trainer_chars_per_s(data, config, 64, steps))
            print(f"bare {bare[-1] / 1e3:.1f}k chars/s, rnnscope {ours[-1] / 1e3:.1f}k chars/s", flush=True)
    lines = [f"`python bench/bench_text.py`, {datetime.date.today()}, on {machine.describe()}. The python-stdlib "
             f"corpus ({record['chars']:,} characters, Python {record['python']}); LSTM-128 on a 32-dim embedding, "
             f"{len(data.vocab)} characters, batch 64 x 100-character windows with a carried state, Adam, clip 1.0, "
             f"one thread. Best of {rounds} alternating rounds of {2 * steps} steps (the trainer's figure is between "
             f"its two evaluations, so it includes the evaluation, metrics line and resume state saved at the "
             f"first).", "",
             "| what | chars/s (best) | ratio |", "|---|---|---|",
             f"| bare torch loop, same shape | {max(bare) / 1e3:.1f}k | 1 |",
             f"| rnnscope train | {max(ours) / 1e3:.1f}k | {max(ours) / max(bare):.2f} x the bare loop |"]
    print("\n".join(lines))
    if not args.quick:
        machine.write_section("Text training", "\n".join(lines))


if __name__ == "__main__":
    main()

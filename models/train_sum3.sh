#!/usr/bin/env bash
# Trains the shipped sum3 checkpoint: seed 000's first model, a 1-unit linear RNN reading each digit
# as a number, on the seed's recipe (10,000 triples of which 8,000 train, 5 epochs, batch 4, Adam
# 0.001, here with cosine decay). Single-threaded and seeded, so deterministic for a torch build.
# `rnnscope weights --model models/checkpoints/sum3-scalar` shows what it learned.
# Extra arguments are passed on (e.g. --input one-hot --out runs/sum3-one-hot).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" -m rnnscope train --task sum3 --input scalar --out models/checkpoints/sum3-scalar --force \
  --threads 1 --seed 0 "$@"

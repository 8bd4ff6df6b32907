#!/usr/bin/env bash
# Trains the shipped text checkpoint: a 1-layer LSTM with 128 cells on a 32-dim embedding, on the
# python-stdlib corpus (the first 3,000,000 characters of the running Python's standard library source,
# models/data/corpus.py), held-out = its last 10%. Single-threaded, so the result does not depend on the core
# count. Measured: 1,500 steps of 64 rows x 100 characters took about 20 minutes on one core of this
# project's 2-core machine while other work ran (see the checkpoint's record for the exact time).
# --minutes 28 keeps it under 30 minutes on a slower or busier machine (it then stops early, saves, and
# says how to --resume). Extra arguments are passed on (e.g. --out runs/try, --device cuda);
# --force: it replaces the shipped checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
mkdir -p runs
"$PY" -m rnnscope corpus python-stdlib -o runs/python-stdlib.txt
exec "$PY" -m rnnscope train --data runs/python-stdlib.txt --out models/checkpoints/lstm128-pystdlib --force \
  --cell lstm --hidden 128 --embedding 32 --steps 1500 --batch 64 --bptt 100 --lr 0.005 \
  --eval-every 250 --save-every 250 --minutes 28 --threads 1 --seed 0 "$@"

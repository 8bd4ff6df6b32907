#!/usr/bin/env bash
# Trains the shipped default checkpoint: a 1-layer GRU with 15 cells on a 15-dim embedding,
# on the default grammar (max depth 4, "0" at depth 0, space separated), learning the oracle's
# exact next-character distribution (--soft-targets; see models/data/batches.py for why). Deterministic
# for a given torch build; single-threaded so the result does not depend on the core count.
# About 21 minutes on one core of this project's 2-core machines. Extra arguments are passed
# on (e.g. --out runs/try to train elsewhere, --device cuda). --force: it replaces the shipped checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" -m rnnscope train --out models/checkpoints/gru15-parens --force \
  --steps 24000 --batch 256 --bptt 100 --lr 0.01 --row-chars 4000 --eval-chars 200000 \
  --eval-every 1000 --threads 1 --soft-targets --seed 0 "$@"

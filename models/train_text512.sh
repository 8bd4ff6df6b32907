#!/usr/bin/env bash
# Trains the shipped larger text checkpoint lstm512-pystdlib: a 1-layer LSTM with 512 cells on a 64-dim
# embedding, on the python-stdlib corpus cut at 12,000,000 characters (10,192,267 characters of whole files
# from the running Python's standard library, models/data/corpus.py), held-out = its last 10% (1,019,227
# characters). A 3,000,000-character corpus overfits a model this size (best held-out 1.322 nats/char at step
# 1,500, then rising). Single-threaded. Measured on one core of this project's 2-core machine, beside other
# work: about 5,000 characters a second, 500 steps (3,200,000 characters) in 5-15 minutes; the shipped
# checkpoint is the run's best held-out step (see its config.json's training history). The run can stop at
# any time and go on with `rnnscope train --resume models/checkpoints/lstm512-pystdlib.run` (not shipped).
# Extra arguments are passed on (e.g. --out runs/try, --device cuda); --force: it replaces the shipped checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
mkdir -p runs
"$PY" -m rnnscope corpus python-stdlib --max-chars 12000000 -o runs/python-stdlib-12m.txt
exec "$PY" -m rnnscope train --data runs/python-stdlib-12m.txt --out models/checkpoints/lstm512-pystdlib --force \
  --cell lstm --hidden 512 --embedding 64 --steps 10000 --batch 64 --bptt 100 --lr 0.003 \
  --eval-every 500 --save-every 500 --threads 1 --seed 0 "$@"

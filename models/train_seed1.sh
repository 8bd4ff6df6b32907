#!/usr/bin/env bash
# Trains the shipped second GRU-15, gru15-parens-seed1: the default checkpoint's network, grammar and
# vocabulary (models/train_default.sh) from seed 1 (other initial weights, other training and held-out
# streams), in 2,000 steps instead of 24,000 (held-out loss 1.0016 x the oracle's floor), with a periodic
# checkpoint every 100 steps: the 20 checkpoints in models/checkpoints/gru15-parens-seed1.run/ that the
# page's Timeline tab replays, and a second model for its Compare tab. About 4.5 minutes on one core of
# this project's busy 2-core machines. Single-threaded: deterministic for a given torch build.
#
# What ships of the run: run.json (its settings; "out" made relative to the repository), metrics.jsonl
# (one line per 100 steps) and step-*/ (each a checkpoint: config.json and model.safetensors). Not
# resume/ (Adam's moments, the carried hidden state, torch's RNG state: 52 KB): the run is finished,
# nothing reads it but `rnnscope train --resume`, which says that state is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
OUT=models/checkpoints/gru15-parens-seed1
"$PY" -m rnnscope train --out "$OUT" --force \
  --steps 2000 --batch 256 --bptt 100 --lr 0.01 --row-chars 4000 --eval-chars 200000 \
  --eval-every 100 --save-every 100 --threads 1 --soft-targets --seed 1
rm -rf "$OUT.run/resume"
"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path
from rnnscope.base.atomic import write_text_atomic
out = sys.argv[1]
run = Path(out + ".run") / "run.json"
spec = json.loads(run.read_text())
spec["out"] = out          # not this machine's absolute path
write_text_atomic(run, json.dumps(spec, indent=1) + "\n")
PY

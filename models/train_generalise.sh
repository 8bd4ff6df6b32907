#!/usr/bin/env bash
# Trains the two shipped models of the depth-generalisation test (issue 7 item 9; Weiss et al. 2018:
# LSTMs can count, GRUs with finite precision cannot): a GRU with 28 cells and an LSTM with 24, both
# on one-hot input, 2,859 parameters each exactly (GRU 3*28*(3+28+2) + 28*3 + 3; LSTM 4*24*(3+24+2)
# + 24*3 + 3), on the brackets-only grammar (--no-digits: nothing in the input names the depth) with
# maximum depth 4, learning the oracle's exact next-character distribution (--soft-targets). Same
# data, seed and schedule for both. Single-threaded so the result does not depend on the core count.
# About 2 minutes of CPU each (1,500 steps); on this project's shared 2-core machines 9-10 minutes
# of wall time each under load. Then:
#   rnnscope generalise --models models/checkpoints/gru28-brackets models/checkpoints/lstm24-brackets -o report.html
# Extra arguments are passed on to both runs (e.g. --device cuda). --force: it replaces the shipped checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
train() {   # cell, cells, then the extra arguments
  local cell=$1 hidden=$2
  shift 2
  "$PY" -m rnnscope train --out "models/checkpoints/$cell$hidden-brackets" --force --cell "$cell" --hidden "$hidden" \
    --one-hot --no-digits --max-depth 4 --steps 1500 --batch 128 --bptt 100 --lr 0.01 --row-chars 4000 \
    --eval-chars 100000 --eval-every 250 --threads 1 --soft-targets --seed 0 --quiet "$@"
}
train gru 28 "$@"
train lstm 24 "$@"

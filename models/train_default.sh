#!/usr/bin/env bash
# Trains the shipped default checkpoint: a 1-layer GRU with 15 cells on a 15-dim embedding,
# on the default grammar (max depth 4, "0" at depth 0, space separated). Deterministic for a
# given torch build and thread count; single-threaded so the result does not depend on the core count.
set -euo pipefail
cd "$(dirname "$0")/.."
exec rnnscope train --out models/checkpoints/gru15-parens \
  --steps 24000 --batch 256 --bptt 100 --lr 0.01 --row-chars 4000 --eval-chars 200000 \
  --eval-every 1000 --threads 1 --seed 0 "$@"

"""What a model reads: training batches with a carried state, a checkpoint's held-out stream, and the
demonstration corpora."""

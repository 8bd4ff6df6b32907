"""Training: the single-process loop, its run directory (watch, stop, resume), DistributedDataParallel under
torchrun, evaluation against the oracle, and the sum-of-three-digits task."""

"""Recurrent character models, one folder per concern:

- network/   the model and its config, checkpoints, the vocabulary, the summary, the NumPy reference equations
- reading/   the Trace and the tracer, in-context reads, whole-corpus extraction, ablation, sampling
- data/      training batches, a checkpoint's held-out stream, demonstration corpora
- training/  the training loop, run directories, DDP, evaluation, the sum3 task
- store/     the corpus state store (Zarr), built by Dask workers or by torch
- interop/   importers from torch and Keras, and the LSTMVis bridge

Kept import-light: ``reading.trace`` (the Trace) needs only NumPy; torch loads with the
submodules that need it. The shipped checkpoints are in checkpoints/.
"""

"""Models and states from and for elsewhere: :func:`import_torch` and :func:`import_keras` (a model
rnnscope did not train, as a Model and, when asked, a checkpoint) and LSTMVis's directory of a Trace's
states (``Trace.to_lstmvis``, its annotations computed here). See docs/import-torch.md, docs/import-keras.md."""
from __future__ import annotations

import dataclasses
from pathlib import Path


def import_torch(state_dict: str | Path, vocab: str | Path, name_map: str | Path, out: str | Path | None = None,
                 force: bool = False, heldout: str | Path | None = None, heldout_range: str | tuple | None = None):
    """A PyTorch character model (nn.Embedding or one-hot -> nn.GRU/LSTM/RNN -> nn.Linear) from its state
    dict saved with safetensors, ``name_map`` a JSON file naming the modules (models/interop/torch_import.py);
    ``vocab`` a JSON list of characters in index order. ``out``: also save it there as a checkpoint
    (replacing one only with ``force``). ``heldout``: a UTF-8 text to record as its held-out stream
    (``heldout_range``: only characters START:END of it, as :func:`rnnscope.load` takes them), checked
    against the vocabulary now. Returns the Model; ``training["imported"]`` says from what."""
    from rnnscope.models.interop.torch_import import import_state_dict_file
    return _imported(lambda: import_state_dict_file(state_dict, vocab, name_map), state_dict, out, force,
                     heldout, heldout_range)


def import_keras(file: str | Path, vocab: str | Path, out: str | Path | None = None, force: bool = False,
                 heldout: str | Path | None = None, heldout_range: str | tuple | None = None):
    """A Keras 3 ``.keras`` character model ([Embedding] -> SimpleRNN/GRU/LSTM -> Dense), read as data
    (no code from the file runs; Keras not needed; models/interop/keras_import.py). Otherwise as
    :func:`import_torch`."""
    from rnnscope.models.interop.keras_import import import_keras_file
    return _imported(lambda: import_keras_file(file, vocab), file, out, force, heldout, heldout_range)


def _imported(read, source, out, force, heldout=None, heldout_range=None):
    from rnnscope.api.model import Model
    from rnnscope.base.errors import RnnscopeError
    from rnnscope.models.data.batches import grammar_spec_of
    from rnnscope.models.data.heldout_text import HeldoutText, heldout_record
    from rnnscope.models.network import checkpoint
    if heldout is None and heldout_range is not None:
        raise RnnscopeError("a held-out range goes with a held-out file (--heldout FILE)")
    if out is not None:
        checkpoint.check_output(out, force=force)    # before the file is read
    given = None if heldout is None else HeldoutText.of(heldout, heldout_range)
    module = read()
    if given is not None:     # checked against the model's vocabulary before anything is written
        vocab = list(module.config.vocab)
        module.training_record["heldout"] = heldout_record(given, vocab, grammar_spec_of(module.training_record,
                                                                                         vocab))
    if out is not None:
        checkpoint.save(module, out, training=module.training_record)
    return Model(module, Path(out if out is not None else source), heldout=given)


def check_lstmvis_out(out: str | Path, force: bool = False) -> None:
    """RnnscopeError now (before any model runs) when an LSTMVis directory cannot be written at ``out``."""
    from rnnscope.models.interop.lstmvis import check_out_dir
    check_out_dir(Path(out), force)


def write_lstmvis(t, out: str | Path, force: bool = False) -> list[str]:
    """Trace ``t``'s states as a directory LSTMVis opens (models/interop/lstmvis.py), with the
    annotations labels and probes use as meta tracks; returns their names."""
    from rnnscope.models.interop.lstmvis import write_lstmvis as write
    check_lstmvis_out(out, force)
    tr, categories = _with_annotations(t)
    m = t.model
    write(tr, Path(out), name=m.name, force=force, nonlinearity=m.config.nonlinearity, categories=categories)
    return sorted(tr.annotations)


def _with_annotations(t):
    """The trace with analysis/'s annotations of its sequence (grammar depth, kind, next token ...; or a
    text model's strings, comments, brackets, indentation ...), and the category names of the categorical
    ones. Held-out windows are annotated from the stream's start (a grammar's depth) or from the
    training text before the stream (a text model's strings)."""
    from rnnscope.analysis.describe.annotations import grammar_annotations
    from rnnscope.analysis.describe.text_annotations import text_annotations
    m, tr = t.model, t.raw
    if m.config.task:
        return tr, {}
    if m.spec is not None and "depth" in tr.annotations:
        found = grammar_annotations(tr.text, m.spec, tr.annotations["depth"])
    elif t.index is None:
        found = text_annotations(tr.text)
    else:
        held = m.heldout
        start = len(held.before) + t.index
        found = text_annotations(held.before + held.text, start, start + len(tr))
    annotations = {a.name: a.values for a in found}
    return dataclasses.replace(tr, annotations=annotations), {a.name: a.categories for a in found if not a.numeric}

"""Corpus states at scale: ``Model.build_store`` (every hidden state of a corpus, read in context, into a
Zarr store chunked along time) and ``Model.open_store`` (a :class:`Store`: its text, states and the
labels read from them chunk by chunk). A mixin of :class:`rnnscope.Model`; see models/store/."""
from __future__ import annotations

from pathlib import Path

from rnnscope.api.reports import Report
from rnnscope.base.errors import RnnscopeError

BUILDS = ("dask", "one-process", "torch")


def check_new_store(out: str | Path) -> Path:
    """``out`` if a store may be written there (it does not exist, its folder does); else RnnscopeError."""
    out = Path(out)
    if out.exists():
        raise RnnscopeError(f"{out}: exists; a store is never overwritten (open it, or choose another path)")
    if not out.parent.is_dir():
        raise RnnscopeError(f"{out.parent}: no such directory")
    return out


class Storing:
    def build_store(self, out: str | Path, corpus: str | None = None, build: str = "dask", workers: int | None = None,
                    scheduler: str | None = None, chunk: int = 100_000, burn_in: int = 1_000) -> dict:
        """Write every hidden state of ``corpus`` (default the held-out stream), read in context, to a new
        Zarr store at ``out`` in chunks of ``chunk`` characters. ``build``: "dask" (lanes on a
        dask.distributed cluster: ``workers`` local processes, or the one at ``scheduler``), "torch"
        (lanes in this process by torch's modules on the model's device) or "one-process" (the reference
        read from the start). Lanes start ``burn_in`` characters early and every seam is checked against
        the true state. Returns the build's report (chars, chunks, lanes, seams agreed and recomputed,
        seconds ...; "one-process": path, chars, built)."""
        from rnnscope.models.store.dask_build import build_store_dask, dask_client
        from rnnscope.models.store.torch_lanes import build_store_torch
        from rnnscope.models.store.zarr_store import build_store
        if build not in BUILDS:
            raise RnnscopeError(f"build must be one of {', '.join(BUILDS)}, got {build!r}")
        out = check_new_store(out)
        text = self.heldout.text if corpus is None else corpus
        model = self.module
        model.vocab.encode(text)    # unknown characters refused before any worker starts
        if build == "one-process":
            build_store(model, text, out, chunk=chunk)
            return {"path": str(out), "chars": len(text), "built": "one process"}
        if build == "torch":
            return build_store_torch(model, text, out, chunk=chunk, burn_in=burn_in).to_dict()
        with dask_client(workers, scheduler) as client:
            return build_store_dask(model, text, out, client, chunk=chunk, burn_in=burn_in).to_dict()

    def open_store(self, path: str | Path) -> Store:
        """The store at ``path`` (written by :meth:`build_store` or ``match``), checked to hold this model's states."""
        from rnnscope.models.store.zarr_store import open_store
        return Store(Path(path), self, open_store(path, self.module))


class Store:
    """A Zarr store of one model's states of one text, read chunk by chunk, never loaded whole.
    ``path``, ``model`` (the Model whose states it holds), ``root`` (the zarr Group: ``h_l0`` ... [chars, cells])."""

    def __init__(self, path: Path, model, root):
        self.path, self.model, self.root = path, model, root

    def __repr__(self) -> str:
        return f"<rnnscope.Store {self.path} of {self.model.name}>"

    @property
    def text(self) -> str:
        """The text whose states the store holds."""
        from rnnscope.analysis.describe.store_labels import store_text
        return store_text(self.root)

    def states(self, layer: int = 0):
        """[chars, cells] float32 zarr array: layer ``layer``'s h after each character (index it to read)."""
        return self.root[f"h_l{self.model.check_layer(layer)}"]

    def labels(self, layer: int = 0) -> Report:
        """A label per cell of ``layer``'s h over every state in the store, as ``Model.label_cells`` and
        ``rnnscope probe`` label (Pearson r, or mutual information in bits), the annotations counted from
        the store's text's start (analysis/describe/store_labels.py). Numbers: store, chars, layer, view, cells."""
        from rnnscope.analysis.describe.store_labels import label_store, store_annotations
        from rnnscope.models.data.heldout import HeldOut
        self.model.check_layer(layer)
        text = self.text
        try:
            held = self.model.heldout
        except RnnscopeError:      # no held-out stream (an imported model): the store's text is annotated alone
            held = HeldOut("", self.model.spec, {})
        labels = label_store(self.root, layer, store_annotations(text, held))
        numbers = {"store": str(self.path), "chars": len(text), "layer": layer, "view": "h",
                   "cells": [lab.to_dict() for lab in labels]}
        lines = [f"labels of layer {layer}'s h over {len(text):,} characters read in context (store {self.path}); "
                 "scores: r = Pearson, MI = mutual information in bits, explained = r^2 or MI / H(cell binned)"]
        lines += [f"  cell {lab.cell:>3}: {lab.label}" + (f"  [explained {lab.best.explained:.2f}]" if lab.best else "")
                  for lab in labels]
        return Report(numbers, f"labels of {self.path}", lambda _: "\n".join(lines))

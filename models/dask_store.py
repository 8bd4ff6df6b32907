"""The state store (models/store.py) built by a Dask cluster: the text cut into time chunks read
in parallel, every seam verified (DESIGN.md section 11).

States must be read in context -- one stream from its start -- and a recurrence is sequential.
So each chunk [s, e) is read by a task from the zero state at s - B (a burn-in of B characters),
and its states are written straight into the store. A contracting RNN forgets where it started,
so the burn-in state at s usually equals the true one; that is checked, never assumed: the chunk
before computed the true state at s, and the two are compared at every seam (every layer's h and
c, largest difference <= ``tol``). The dynamics are deterministic, so a chunk whose seam agrees
goes on from the true state to that tolerance. A chunk whose seam does not agree is read again
from the true state before it, after the parallel pass and in order (the true state after it is
needed for the next seam). A model that never forgets (an LSTM or ReLU counter) thus degrades to
a sequential read -- correct, slower -- and the build says how many seams agreed and how many were
recomputed, in the store's attrs ("built") and in what it returns.

Workers run the compiled h-only loops (models/store_kernel.py) on weights sent once to each of
them; each writes only its own chunk's region of the Zarr arrays (regions are whole Zarr chunks,
so no two writers share one). Everything is written into a temporary folder renamed into place
when the build is whole, as the single-process build does; that build (models/store.py) stays the
reference and the default where no cluster is wanted. On a real cluster the workers must see the
store's folder at the same path (a shared file system).
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import zarr

from . import store_kernel
from .errors import RnnscopeError
from .model import CharRNN
from .store import CHUNK, FORMAT, fingerprint, text_sha
from .store_kernel import KernelWeights

BURN_IN = 1_000        # characters read before each chunk; the shipped GRU forgets its start in ~25
SEAM_TOL = 1e-6        # largest |difference| of h (and c) at a seam for the burn-in state to count as the true one
CONNECT_TIMEOUT = 10   # seconds to wait for a scheduler given by address


@dataclass(frozen=True)
class BuildReport:
    path: str
    chars: int
    chunks: int
    seams: int              # chunk starts after the first: each checked
    agreed: int             # ... whose burn-in state equalled the true state to ``tolerance``
    recomputed: int         # ... read again from the true state
    worst_agreed: float     # the largest difference among the seams that agreed (0 when none)
    tolerance: float
    burn_in: int
    workers: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def kernel_weights(model: CharRNN) -> KernelWeights:
    """The model as plain arrays for the workers (our own checkpoint's tensors, copied)."""
    cfg = model.config
    with torch.no_grad():
        table = model.inputs(torch.arange(len(cfg.vocab), device=model.device)[None])[0].float().cpu().numpy()
    return KernelWeights(cfg.cell, cfg.nonlinearity, table, [model.layer_arrays(k) for k in range(cfg.num_layers)])


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, timeout: float = CONNECT_TIMEOUT):
    """A dask.distributed Client: of the scheduler at ``scheduler`` (a real cluster), or of a
    local cluster of ``workers`` processes (default: one per core) with one thread each -- the
    compiled loop is single-threaded, and processes keep the workers' GILs apart."""
    from distributed import Client, LocalCluster
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as e:
            raise RnnscopeError(f"{scheduler}: no Dask scheduler answered within {timeout:g} s "
                                f"({type(e).__name__})") from None
        with client:
            yield client
        return
    if workers is not None and workers < 1:
        raise RnnscopeError(f"--workers must be at least 1, got {workers}")
    with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def build_store_dask(model: CharRNN, text: str, path: str | Path, client, chunk: int = CHUNK,
                     burn_in: int = BURN_IN, tol: float = SEAM_TOL) -> BuildReport:
    """Write the states of ``text`` to a new store at ``path`` with the workers of ``client``
    (refuses to replace anything); the layout and attrs are models/store.py's, plus "built"."""
    path = Path(path)
    if path.exists():
        raise RnnscopeError(f"{path}: exists; a store is never overwritten (open it, or choose another path)")
    if chunk < 1 or burn_in < 0 or not tol >= 0:
        raise RnnscopeError(f"the chunk must be at least 1 character, the burn-in and the tolerance at least 0 "
                            f"(got {chunk}, {burn_in}, {tol})")
    started = time.perf_counter()
    ids = np.asarray(model.vocab.encode(text), np.int32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        root = _create(model, text, tmp, chunk)
        report = _read_chunks(client, kernel_weights(model), ids, str(tmp), chunk, burn_in, tol)
        report = BuildReport(str(path), len(text), **report, tolerance=tol, burn_in=burn_in,
                             workers=len(client.scheduler_info(n_workers=-1)["workers"]),
                             seconds=round(time.perf_counter() - started, 3))
        root.attrs["built"] = report.to_dict() | {"by": "dask"}
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def _create(model: CharRNN, text: str, tmp: Path, chunk: int) -> zarr.Group:
    """The store's attrs, its text, and empty state arrays chunked along time for the workers to fill."""
    cfg = model.config
    root = zarr.open_group(tmp, mode="w")
    root.attrs.update({"rnnscope_store": FORMAT, "model": fingerprint(model), "text_sha256": text_sha(text),
                       "chars": len(text), "layers": cfg.num_layers, "hidden": cfg.hidden_size,
                       "read": "in context, from the text's start"})
    root.create_array("chars", data=np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).copy(),
                      chunks=(max(chunk, 1),))
    for k in range(cfg.num_layers):
        root.create_array(f"h_l{k}", shape=(len(text), cfg.hidden_size), chunks=(chunk, cfg.hidden_size),
                          dtype="float32", compressors=None)
    return root


def _read_chunks(client, weights: KernelWeights, ids: np.ndarray, path: str, chunk: int, burn_in: int,
                 tol: float) -> dict:
    """The parallel pass, then every seam in order: agreed, or the chunk read again from the true state."""
    starts = list(range(0, len(ids), chunk))
    w = client.scatter(weights, broadcast=True)
    futures = [client.submit(store_kernel.chunk_task, w, path, ids[max(s - burn_in, 0):s + chunk], s,
                             min(burn_in, s), pure=False) for s in starts]
    results = _gather(client, futures, path)
    true_state = results[0][1] if results else None
    agreed, recomputed, worst = 0, 0, 0.0
    for i in range(1, len(starts)):
        seam, after = results[i]
        gap = store_kernel.seam_gap(seam, true_state) if burn_in else float("inf")
        if gap <= tol:
            agreed, worst, true_state = agreed + 1, max(worst, gap), after
            continue
        s = starts[i]
        future = client.submit(store_kernel.recompute_task, w, path, ids[s:s + chunk], s, true_state, pure=False)
        true_state = _gather(client, [future], path)[0]
        recomputed += 1
    return {"chunks": len(starts), "seams": max(len(starts) - 1, 0), "agreed": agreed, "recomputed": recomputed,
            "worst_agreed": worst}


def _gather(client, futures, path: str) -> list:
    try:
        return client.gather(futures)
    except OSError as e:     # a worker could not write: on a cluster, the folder must be shared
        raise RnnscopeError(f"a worker could not write the store under {path} ({e}); a cluster's workers must "
                            "see the store's folder at the same path") from None

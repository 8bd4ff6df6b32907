"""The state store (models/store/zarr_store.py) built by a Dask cluster: the text cut into lanes read in
parallel, every seam verified (docs/architecture.md, Scale).

States must be read in context -- one stream from its start -- and a recurrence is sequential.
So the text is cut into lanes, and each lane [s, e) is read from the zero state at s - B (a
burn-in of B characters). A contracting RNN forgets where it started, so the burn-in state at s
usually equals the true one; that is checked, never assumed: the lane before computed the true
state at s, and the two are compared at every seam (every layer's h and c, largest difference
<= ``tol``). The dynamics are deterministic, so a lane whose seam agrees goes on from the true
state to that tolerance. A lane whose seam does not agree is read again from the true state before
it, after the parallel pass and in order (the true state after it is needed for the next seam).
A model that never forgets (an LSTM or ReLU counter) thus degrades to a sequential read --
correct, slower -- and the build says how many seams agreed and how many were recomputed, in the
store's attrs ("built") and in what it returns.

Work goes out as one task per worker (fewer lanes' worth of memory each when the text is long):
a span of whole Zarr chunks, so no two writers share a chunk, cut into lanes of at least
LANE_PER_BURN burn-ins that the worker reads side by side (models/store/kernel.py,
models/store/lockstep.py) on weights sent once to each worker. Everything is written into a temporary
folder renamed into place when the build is whole, as the single-process build does; that build
(models/store/zarr_store.py) stays the reference and the default where no cluster is wanted. On a real
cluster the workers must see the store's folder at the same path (a shared file system).
"""
from __future__ import annotations

import contextlib
import functools
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

from rnnscope.models.store import kernel as store_kernel
from rnnscope.base.errors import RnnscopeError
from rnnscope.models.network.model import CharRNN
from rnnscope.models.store.zarr_store import CHUNK, FORMAT, fingerprint, text_sha
from rnnscope.models.store.kernel import KernelWeights

BURN_IN = 1_000        # characters read before each lane; the shipped GRU forgets its start in ~25
SEAM_TOL = 1e-6        # largest |difference| of h (and c) at a seam for the burn-in state to count as the true one
LANE_PER_BURN = 4      # a lane is at least 4 burn-ins long: burn-ins add at most a quarter to the reading
TASK_VALUES = 2**25    # float32 states one task holds (128 MB): a long text is cut into more tasks
CONNECT_TIMEOUT = 10   # seconds to wait for a scheduler given by address


@dataclass(frozen=True)
class BuildReport:
    path: str
    chars: int
    chunks: int             # Zarr chunks of the store
    tasks: int              # spans of whole chunks, one per worker unless memory asks for more
    lanes: int              # stretches read each after its own burn-in, over all tasks
    seams: int              # lane starts after the first: each checked
    agreed: int             # ... whose burn-in state equalled the true state to ``tolerance``
    recomputed: int         # ... read again from the true state
    worst_agreed: float     # the largest difference among the seams that agreed (0 when none)
    tolerance: float
    burn_in: int
    workers: int
    seconds: float
    by: str                 # "dask", or "torch on DEVICE" (models/store/torch_lanes.py)

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
                     burn_in: int = BURN_IN, tol: float = SEAM_TOL, lane: int | None = None) -> BuildReport:
    """Write the states of ``text`` to a new store at ``path`` with the workers of ``client``
    (refuses to replace anything); the layout and attrs are models/store/zarr_store.py's, plus "built".
    ``lane``: the shortest lane (default LANE_PER_BURN burn-ins; no lanes without a burn-in)."""
    workers = len(client.scheduler_info(n_workers=-1)["workers"])
    return build_store_lanes(model, text, path, client, kernel_weights(model), workers, "dask", TASK_VALUES,
                             chunk, burn_in, tol, lane)


def build_store_lanes(model: CharRNN, text: str, path: str | Path, executor, engine, workers: int, by: str,
                      task_values: int, chunk: int = CHUNK, burn_in: int = BURN_IN, tol: float = SEAM_TOL,
                      lane: int | None = None) -> BuildReport:
    """The build, whoever runs it: ``executor`` (a Dask client, or InProcess) runs the tasks on
    ``engine`` (store_kernel.KernelWeights, or torch_lanes.TorchLanes); spans are shared among
    ``workers``, none holding more than ``task_values`` states; ``by`` goes into the report."""
    path = Path(path)
    if path.exists():
        raise RnnscopeError(f"{path}: exists; a store is never overwritten (open it, or choose another path)")
    lane = LANE_PER_BURN * burn_in if lane is None else lane
    if chunk < 1 or burn_in < 0 or not tol >= 0 or lane < max(burn_in, 1):
        raise RnnscopeError(f"the chunk must be at least 1 character, the burn-in and the tolerance at least 0, "
                            f"a lane at least one burn-in and 1 character (got chunk {chunk}, burn-in {burn_in}, "
                            f"tolerance {tol}, lane {lane})")
    started = time.perf_counter()
    ids = np.asarray(model.vocab.encode(text), np.int32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        root = _create(model, text, tmp, chunk)
        cfg = model.config
        spans = task_spans(len(ids), chunk, workers, cfg.hidden_size * cfg.num_layers, task_values)
        plan = [(s, n, lanes_for(n, lane if burn_in else n, engine.max_lanes)) for s, n in spans]
        report = _read_lanes(executor, engine, ids, str(tmp), plan, burn_in, tol)
        report = BuildReport(str(path), len(text), chunks=-(-len(ids) // chunk), tasks=len(plan), **report,
                             tolerance=tol, burn_in=burn_in, workers=workers,
                             seconds=round(time.perf_counter() - started, 3), by=by)
        root.attrs["built"] = report.to_dict()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


class InProcess:
    """The three calls of a Dask client the build makes, run here and now: a build in this process
    (models/store/torch_lanes.py's, on a GPU) goes through the same plan and seam checks as a cluster's."""

    def scatter(self, value, broadcast=False):
        return value

    def submit(self, fn, *args, pure=True):
        return functools.partial(fn, *args)       # run by gather, where a failed write is caught

    def gather(self, tasks):
        return [task() for task in tasks]


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


def task_spans(chars: int, chunk: int, workers: int, values_per_char: int,
               task_values: int = TASK_VALUES) -> list[tuple[int, int]]:
    """(start, length) of each task: the store's chunks shared evenly among the workers, no task
    holding more than ``task_values`` states."""
    chunks = -(-chars // chunk)
    per_task = max(1, min(-(-chunks // max(workers, 1)), task_values // (chunk * values_per_char)))
    step = per_task * chunk
    return [(s, min(step, chars - s)) for s in range(0, chars, step)]


def lanes_for(length: int, lane: int, max_lanes: int) -> int:
    """Lanes in a span: as many as fit at ``lane`` characters or more each, at most ``max_lanes``."""
    return max(1, min(max_lanes, length // lane))


def _read_lanes(client, engine, ids: np.ndarray, path: str, plan: list[tuple[int, int, int]],
                burn_in: int, tol: float) -> dict:
    """The parallel pass, then every seam in order: agreed, or the lane read again from the true state."""
    w = client.scatter(engine, broadcast=True)
    futures = [client.submit(store_kernel.span_task, w, path, ids[max(s - burn_in, 0):s + n], s, burn_in, lanes,
                             pure=False) for s, n, lanes in plan]
    results = [lane for task in _gather(client, futures, path) for lane in task]
    starts = [s + off for s, n, lanes in plan for off, _ in store_kernel.lane_layout(n, lanes, burn_in)]
    starts.append(len(ids))
    true_state = results[0][1] if results else None
    agreed, recomputed, worst = 0, 0, 0.0
    for i in range(1, len(results)):
        seam, after = results[i]
        gap = store_kernel.seam_gap(seam, true_state) if burn_in else float("inf")
        if gap <= tol:
            agreed, worst, true_state = agreed + 1, max(worst, gap), after
            continue
        s, e = starts[i], starts[i + 1]
        future = client.submit(store_kernel.recompute_task, w, path, ids[s:e], s, true_state, pure=False)
        true_state = _gather(client, [future], path)[0]
        recomputed += 1
    return {"lanes": len(results), "seams": max(len(results) - 1, 0), "agreed": agreed, "recomputed": recomputed,
            "worst_agreed": worst}


def _gather(client, futures, path: str) -> list:
    try:
        return client.gather(futures)
    except OSError as e:     # a worker could not write: on a cluster, the folder must be shared
        raise RnnscopeError(f"a worker could not write the store under {path} ({e}); a cluster's workers must "
                            "see the store's folder at the same path") from None

"""Training on several processes: torch DistributedDataParallel started by ``torchrun``
(docs/architecture.md, Scale).

    torchrun --nproc-per-node 2 -m rnnscope train ...

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK in every process it starts; ``World.from_env``
reads them (a plain ``rnnscope train`` is a world of one, and nothing here changes it). The
global batch is ``--batch``: every rank builds the same epoch rows from the same seed and takes its
own contiguous share of them, so the union of the shares is the batch one process would use. Each
rank's loss is the mean over its share; the shares are equal, so the mean of the ranks' gradients
that DDP computes is the one-process mean gradient, and clipping, Adam and the learning-rate
schedule (a function of the step) see the same numbers on every rank.

One process writes: rank 0 evaluates and saves everything; the others only train. What every
rank must agree on (a refusal before the start, a stop, a held-out loss) is decided on rank 0 and
sent to the rest, so no rank races ahead into a collective the others never reach. Collectives time
out (``RNNSCOPE_DIST_TIMEOUT_S``, default 1800 s) instead of waiting forever on a rank that died.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist

from rnnscope.base.errors import RnnscopeError

DEFAULT_TIMEOUT_S = 1800


class ReportedByRankZero(RnnscopeError):
    """A refusal rank 0 made and printed; the other ranks stop with it and print nothing, so the
    user reads one line, not one per process."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> World:
        """The world torchrun describes in the environment; a world of one without it."""
        if "WORLD_SIZE" not in os.environ:
            return cls()
        try:
            size, rank = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
            local = int(os.environ.get("LOCAL_RANK", rank))
        except (KeyError, ValueError):
            raise RnnscopeError("WORLD_SIZE is set but RANK or LOCAL_RANK is missing or not a number: "
                                "start several processes with torchrun") from None
        if not (size >= 1 and 0 <= rank < size):
            raise RnnscopeError(f"RANK {rank} is not within a WORLD_SIZE of {size}")
        return cls(rank, size, local)

    @property
    def writer(self) -> bool:
        """Only rank 0 writes files and prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def share(self, batch_size: int) -> range:
        """The batch rows this rank trains on: a contiguous 1/size of them."""
        per = self.rows_per_rank(batch_size)
        return range(self.rank * per, (self.rank + 1) * per)

    def rows_per_rank(self, batch_size: int) -> int:
        if batch_size % self.size:
            raise RnnscopeError(f"the batch of {batch_size} rows cannot be shared equally by {self.size} "
                                f"processes: give a --batch divisible by {self.size}")
        return batch_size // self.size


def start(world: World, device_name: str) -> torch.device:
    """Join the process group (gloo on the CPU, NCCL on CUDA, one GPU per local rank) and return
    this rank's device. A world of one starts nothing and uses ``device_name`` as always."""
    from rnnscope.base.runtime import pick_device
    device = pick_device(device_name)
    if not world.distributed:
        return device
    if device.type == "cuda":
        if device.index not in (None, 0):
            raise RnnscopeError(f"--device {device_name}: under torchrun each process takes the GPU of its "
                                f"local rank; give --device cuda or auto")
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        _import_before_the_group()
        timeout = _timeout_s()
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timedelta(seconds=timeout),
                                **({"device_id": device} if device.type == "cuda" else {}))
    return device


def _import_before_the_group() -> None:
    """Import, while no process group exists yet, what DDP imports on first use.

    torch.distributed.fsdp's ShardedGradScaler takes ``dist.group.WORLD`` as a default argument, evaluated
    when the module is imported. Imported after ``init_process_group``, that default holds the group for
    good: ``destroy_process_group`` then cannot free it, and its gloo worker threads outlive Python. A
    worker still letting go of the last collective's tensors while the interpreter shuts down needs the
    GIL, which it can no longer take, and the process aborts ("terminate called without an active
    exception", about one run in 20 on 2 cores). Imported now, the default is None; ``stop`` frees the
    group, and freeing it joins its workers."""
    import torch.distributed.fsdp  # noqa: F401


def _timeout_s() -> float:
    text = os.environ.get("RNNSCOPE_DIST_TIMEOUT_S", str(DEFAULT_TIMEOUT_S))
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise RnnscopeError(f"RNNSCOPE_DIST_TIMEOUT_S must be a positive number of seconds, got {text!r}")
    return seconds


def stop(world: World) -> None:
    """Leave the process group. Freeing it joins its worker threads here, while Python still runs (see
    ``_import_before_the_group``), so no collective's tensors are let go of during the interpreter's exit."""
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def on_writer(world: World, action, *args):
    """Run ``action(*args)`` on rank 0 only and give every rank its outcome: the value it returned
    (anything JSON can carry), or its RnnscopeError raised again (rank 0's own; a
    ReportedByRankZero elsewhere). Doubles as a barrier: nobody goes on before rank 0 has finished.
    The outcome travels as JSON, not as torch's pickled objects."""
    if not world.distributed:
        return action(*args)
    error, outcome = None, None
    if world.writer:
        try:
            outcome = {"ok": action(*args)}
        except RnnscopeError as e:
            error, outcome = e, {"error": str(e)}
    outcome = _broadcast_json(outcome)
    if error is not None:
        raise error
    if "error" in outcome:
        raise ReportedByRankZero(outcome["error"])
    return outcome["ok"]


def _broadcast_json(value):
    """Rank 0's ``value`` on every rank: its length, then its UTF-8 JSON bytes."""
    device = _collective_device()
    data = json.dumps(value).encode("utf-8") if dist.get_rank() == 0 else b""
    size = torch.tensor([len(data)], dtype=torch.int64, device=device)
    dist.broadcast(size, src=0)
    buf = (torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device) if dist.get_rank() == 0
           else torch.empty(int(size.item()), dtype=torch.uint8, device=device))
    dist.broadcast(buf, src=0)
    return json.loads(bytes(buf.cpu().numpy()).decode("utf-8"))


def _collective_device() -> torch.device:
    """NCCL moves only CUDA tensors; gloo moves CPU ones."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def mean_and_any(world: World, value: torch.Tensor, flag: bool) -> tuple[float, bool]:
    """One all-reduce per step: the mean of ``value`` over the ranks (each rank's loss is the mean
    over an equal share, so this is the global batch's loss) and whether any rank raised ``flag``."""
    if not world.distributed:
        return value.item(), flag
    both = torch.stack([value.detach().double().reshape(()),
                        torch.tensor(float(flag), dtype=torch.float64, device=value.device)])
    dist.all_reduce(both)
    return both[0].item() / world.size, bool(both[1].item() > 0)


def sum_counts(world: World, counts: np.ndarray) -> np.ndarray:
    """Element-wise sum of ``counts`` over the ranks (character counts of the shares)."""
    if not world.distributed:
        return counts
    total = torch.as_tensor(counts, dtype=torch.int64, device=_collective_device())
    dist.all_reduce(total)
    return total.cpu().numpy()


def gather_rows(world: World, state):
    """The carried state of the whole batch ([layers, B, H], rows in rank order) from each rank's
    share; a tuple for the LSTM's (h, c). Every rank gets it; rank 0 saves it."""
    if not world.distributed or state is None:
        return state
    parts = state if isinstance(state, tuple) else (state,)
    whole = []
    for p in parts:
        pieces = [torch.empty_like(p) for _ in range(world.size)]
        dist.all_gather(pieces, p.contiguous())
        whole.append(torch.cat(pieces, dim=1))
    return tuple(whole) if isinstance(state, tuple) else whole[0]


def take_rows(world: World, state, batch_size: int):
    """This rank's rows of a whole-batch carried state: how a run saved by N processes goes on
    with M (the rows are the same global rows, only the sharing differs)."""
    if state is None:
        return None
    rows = world.share(batch_size)
    parts = state if isinstance(state, tuple) else (state,)
    for p in parts:
        if p.shape[1] != batch_size:
            raise RnnscopeError(f"the saved carried state holds {p.shape[1]} batch rows, the run's batch is "
                                f"{batch_size}: the resume state does not belong to this run")
    cut = tuple(p[:, rows.start:rows.stop].contiguous() for p in parts)
    return cut if isinstance(state, tuple) else cut[0]

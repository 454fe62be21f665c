"""One run over several processes: torchrun's process group, DistributedDataParallel, and the
few collective operations the trainer needs.

`torchrun --nproc_per_node N -m lrlc train ...` (or `lrlc train --nproc N`, which starts
torchrun) trains one run in N processes, on one machine or several (torchrun's rendezvous).
`start()` reads torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) and joins the group:
NCCL when the run trains on CUDA (each process on GPU LOCAL_RANK), gloo on the CPU. Every
process builds the same model from the run seed; DistributedDataParallel averages the
gradients; each process reads its shard of every global batch (`feed.py`); only the process
of rank 0 writes the run's records, and the others print nothing on stdout.

BatchNorm: each process normalises over its own shard of the batch unless `sync_bn`
(`sync_bn.py`: statistics over the whole global batch, as one process computes them), which
makes a run's result independent of the number of processes at the price of one more
all-reduce per BatchNorm layer and step. Either way the running statistics that are saved
and evaluated are rank 0's, broadcast to every process before each evaluation.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .device import resolve_device
from .sync_bn import convert_sync_batchnorm

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def launched_by_torchrun() -> bool:
    """Whether this process is one of those torchrun started."""
    return all(name in os.environ for name in TORCHRUN_VARS)


@dataclass(frozen=True)
class Processes:
    """The processes that train one run together; the default is one process, no group."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str | None = None  # "gloo" or "nccl"; None: one process without a group
    sync_bn: bool = False
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """The process that writes records and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    def shard(self, items: torch.Tensor) -> torch.Tensor:
        """This process's contiguous share of `items` (sizes differ by at most one)."""
        return torch.tensor_split(items, self.world_size)[self.rank]

    def prepare(self, model: nn.Module) -> nn.Module:
        """The model with SyncBatchNorm layers when `sync_bn` (same parameters and buffers,
        so an optimizer built on the model stays valid and checkpoints keep their keys)."""
        if self.distributed and self.sync_bn:
            return convert_sync_batchnorm(model, self.device.type)
        return model

    def wrap(self, model: nn.Module) -> nn.Module:
        """What a training step calls: DistributedDataParallel around `model`, or `model`."""
        if not self.distributed:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def sum(self, values: Sequence[float]) -> list[float]:
        """Each value summed over the processes."""
        if not self.distributed:
            return [float(v) for v in values]
        total = torch.tensor(list(values), dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return total.tolist()

    def broadcast_buffers(self, model: nn.Module) -> None:
        """Give every process rank 0's buffers (BatchNorm running statistics)."""
        if self.distributed:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first, then the others (who then find its caches)."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()

    def check_same(self, what: str, value: Any) -> None:
        """Raise RuntimeError unless every process has the same `value` of `what`."""
        if not self.distributed:
            return
        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        if any(v != values[0] for v in values):
            seen = ", ".join(f"rank {r}: {v!r}" for r, v in enumerate(values))
            raise RuntimeError(
                f"the processes of this run see different {what} ({seen}); every process "
                "must read the same --out folder and data (on several machines, a shared "
                "file system)"
            )

    def record(self) -> dict[str, Any]:
        """What result.json keeps about the processes."""
        return {
            "processes": self.world_size,
            "backend": self.backend,
            "sync_bn": self.sync_bn if self.distributed else None,
        }


def start(device: str | torch.device | None = None, sync_bn: bool = False) -> Processes:
    """Join torchrun's process group (if torchrun started this process) on the run's device.

    Under torchrun a CUDA run trains on GPU LOCAL_RANK with NCCL, a CPU run with gloo; the
    processes of rank > 0 print nothing on stdout. Without torchrun: one process, and
    `sync_bn` is an error (there is nothing to synchronise).
    """
    if not launched_by_torchrun():
        if sync_bn:
            raise ValueError(
                "--sync-bn synchronises BatchNorm between the processes of one run; this run "
                "has one process. Use it with lrlc train --nproc N, or under torchrun "
                "--nproc_per_node N -m lrlc train ..."
            )
        return Processes(device=resolve_device(device))
    rank, world, local = (int(os.environ[name]) for name in TORCHRUN_VARS)
    dev = resolve_device(device)
    if dev.type == "cuda":
        if torch.cuda.device_count() <= local:
            raise ValueError(
                f"process {rank} (local rank {local}) needs GPU {local}, but this machine has "
                f"{torch.cuda.device_count()}; start at most that many processes per machine"
            )
        dev = torch.device("cuda", local)  # one GPU per process, whatever cuda:N was given
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    if rank != 0:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    return Processes(world, rank, local, backend, sync_bn, dev)


def stop() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

"""How a run's images reach the model: its feed.

A feed gives the training batches of an epoch (`epoch`) and the evaluation batches of a split
(`evaluation`), on the run's device, for this process. Which feed a run gets follows from its
data (`FEEDS`): an in-memory `Dataset` is indexed where it lies (the training split is moved
to the device once: the fastest way for data that fits); a `StreamedDataset` is read from its
files by a DataLoader with worker processes.

Both feeds cut epochs into the same global batches (`GlobalBatches`): epoch e's order is a
permutation fixed by (seed, e); step s takes the next `batch_size` images of it, and each of
the W processes of a distributed run takes a contiguous 1/W of them. The global batch, and so
the result, does not depend on the number of processes (BatchNorm statistics aside, see
`distributed.py`), and a run resumes with another number of processes.

torch's DistributedSampler is not used: it deals a permutation of the whole dataset out to
the processes and pads the last round with repeated images, so the global batches, and the
images of an epoch's last step, change with the number of processes. It is what
`GlobalBatches` replaces (for one process as for many).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from ...data import Dataset, StreamedDataset
from ..config import TrainConfig
from .distributed import Processes

MAX_LOADER_WORKERS = 8


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The permutation of the training set for one epoch, fixed by (seed, epoch)."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)


@dataclass(frozen=True)
class Batch:
    """This process's part of one global training batch."""

    step: int  # the step's number within the epoch (skipped steps count)
    x: Tensor  # images (n, C, H, W) on the device
    y: Tensor  # labels (n,) on the device
    indices: Tensor  # positions in the training split (n,), on the CPU
    total: int  # images in the global batch, over all processes
    # Scales this process's mean loss so that DistributedDataParallel's average of the
    # processes' gradients is the gradient of the global batch's mean loss, also when the
    # shards differ in size: n * W / (global batch size). Exactly 1.0 for one process.
    weight: float


class GlobalBatches:
    """The global batches of every epoch, and this process's shard of each."""

    def __init__(self, n: int, batch_size: int, seed: int, processes: Processes) -> None:
        self.n, self.batch_size, self.seed, self.processes = n, batch_size, seed, processes
        self.steps = math.ceil(n / batch_size)

    def __call__(self, epoch: int) -> Iterator[tuple[int, Tensor, int, float]]:
        """(step, this process's indices, global batch size, loss weight) of each step of
        `epoch` that trains.

        A step is skipped when a shard would hold fewer than 2 images (BatchNorm cannot train
        on one); with one process, only a last batch of one image is.
        """
        order = epoch_order(self.n, self.seed, epoch)
        world = self.processes.world_size
        for step in range(self.steps):
            batch = order[step * self.batch_size : (step + 1) * self.batch_size]
            shards = torch.tensor_split(batch, world)
            if min(len(s) for s in shards) < 2:
                continue
            mine = shards[self.processes.rank]
            yield step, mine, len(batch), len(mine) * world / len(batch)


class TensorFeed:
    """In-memory splits: the training split is moved to the device once and indexed there."""

    def __init__(
        self, data: Dataset, config: TrainConfig, processes: Processes, workers: int | None
    ) -> None:
        del workers  # nothing is read from disk
        self.data, self.config, self.processes = data, config, processes
        self.device = processes.device
        self.images, self.labels = (t.to(self.device) for t in data.train)
        self.batches = GlobalBatches(len(self.labels), config.batch_size, config.seed, processes)

    def epoch(self, epoch: int) -> Iterator[Batch]:
        for step, indices, total, weight in self.batches(epoch):
            on_device = indices.to(self.device)
            x, y = self.images[on_device], self.labels[on_device]
            yield Batch(step, x, y, indices, total, weight)

    def evaluation(self, split: str) -> Iterator[tuple[Tensor, Tensor]]:
        """This process's share of a split, in batches of `eval_batch_size`."""
        images, labels = self.data.split(split)
        mine = self.processes.shard(torch.arange(len(labels)))
        if len(mine) == 0:
            return
        end, size = int(mine[-1]) + 1, self.config.eval_batch_size
        for start in range(int(mine[0]), end, size):
            part = slice(start, min(start + size, end))
            yield images[part].to(self.device), labels[part].to(self.device)


class LoaderFeed:
    """Images read from their files by a DataLoader with `workers` worker processes.

    Training items are keyed (index, draw) with draw fixed by (seed, epoch), so that random
    augmentation is the same whichever process or worker reads an image.
    """

    def __init__(
        self, data: StreamedDataset, config: TrainConfig, processes: Processes, workers: int | None
    ) -> None:
        self.data, self.config, self.processes = data, config, processes
        self.device = processes.device
        self.workers = default_workers(processes) if workers is None else workers
        self.batches = GlobalBatches(
            len(data.split("train")), config.batch_size, config.seed, processes
        )

    def _loader(self, dataset, **kwargs) -> DataLoader:
        return DataLoader(
            dataset,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            multiprocessing_context=worker_context(self.processes) if self.workers else None,
            **kwargs,
        )

    def epoch(self, epoch: int) -> Iterator[Batch]:
        plan = list(self.batches(epoch))
        draw = self.config.seed * 1_000_003 + epoch
        keys = _Keys([indices for _, indices, _, _ in plan], draw)
        loader = self._loader(self.data.split("train"), batch_sampler=keys)
        for (step, indices, total, weight), (x, y) in zip(plan, loader, strict=True):
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            yield Batch(step, x, y, indices, total, weight)

    def evaluation(self, split: str) -> Iterator[tuple[Tensor, Tensor]]:
        dataset = self.data.split(split)
        mine = self.processes.shard(torch.arange(len(dataset))).tolist()
        loader = self._loader(Subset(dataset, mine), batch_size=self.config.eval_batch_size)
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


class _Keys:
    """A batch sampler: each step's indices as (index, draw) keys."""

    def __init__(self, steps: list[Tensor], draw: int) -> None:
        self.steps, self.draw = steps, draw

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for indices in self.steps:
            yield [(i, self.draw) for i in indices.tolist()]


def worker_context(processes: Processes) -> multiprocessing.context.BaseContext | None:
    """How the DataLoader's workers start. In a process of a distributed run: forked from a
    server process that has run no thread (forkserver), not from the trainer, which has
    gloo's threads besides OpenMP's; a child forked from it can stop for ever in a lock one of
    them held at the fork (seen: rank 0's evaluation loader hung while rank 1 waited in
    all_reduce, about one launch in five of `tests/train/test_distributed.py`). The server
    imports this module (and so torch) once, so each worker then starts in milliseconds.
    Elsewhere None, the platform's default (fork on Linux): the workers then share the
    trainer's pages (a large folder's listing, `lrlc.data.stream`) instead of each unpickling
    a copy every epoch, and no hang was seen there. Where there is no forkserver (not POSIX),
    spawn. Like spawn, a forkserver imports the main module in the workers: a script of
    one's own that trains on streamed data in several processes needs its training under
    `if __name__ == "__main__":` (the `lrlc` command needs nothing)."""
    if not processes.distributed:
        return None
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def default_workers(processes: Processes) -> int:
    """DataLoader workers per process: the cores this process may use but its own, at most
    MAX_LOADER_WORKERS (decoding is what they do; more rarely helps)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        cores = os.cpu_count() or 1
    local = int(os.environ.get("LOCAL_WORLD_SIZE", processes.world_size) or 1)
    return max(1, min(MAX_LOADER_WORKERS, cores // max(1, local) - 1))


FEEDS = {Dataset: TensorFeed, StreamedDataset: LoaderFeed}


def make_feed(
    data: Dataset | StreamedDataset,
    config: TrainConfig,
    processes: Processes,
    workers: int | None = None,
) -> TensorFeed | LoaderFeed:
    """The feed for a run's data (`FEEDS`); `workers`: DataLoader workers (None: automatic)."""
    return FEEDS[type(data)](data, config, processes, workers)

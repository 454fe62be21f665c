"""Where a sweep's runs execute: in this process, in N worker processes, or on Ray.

Every executor trains each job with `lrlc.experiments.run.train` into the job's own run folder
and calls `report(job, result, seconds, error)` as each run ends; a run that raises is reported
with its error and the sweep goes on. KeyboardInterrupt stops everything; the trainer's per-epoch
checkpoints make the next invocation resume.

Threads: PyTorch uses every core by default. N parallel runs on C cores each get C // N threads
(at least 1), so they do not oversubscribe the CPU. On a 2-core machine `workers=1` is right:
two runs with one thread each are no faster in total than one run with two threads, and each
needs its own copy of the data.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

import torch

from ...data import Dataset
from ..config import TrainConfig
from ..machine import SpeedOptions
from ..run import resolve_device, train
from .grid import DataLoader, Job

Report = Callable[[Job, "dict[str, Any] | None", float, "str | None"], None]

# A run whose worker process ended abruptly: most often the kernel's out-of-memory killer.
WORKER_DIED = (
    "its worker process died (killed by the operating system, most often for lack of memory: "
    "`dmesg` says); rerun the same command to retry it, with fewer --workers if it recurs"
)


def _error_text(err: BaseException) -> str:
    last = traceback.format_exception_only(type(err), err)[-1].strip()
    return last.replace("\n", " ")


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Torch threads for each of `workers` parallel runs: cores // workers, at least 1."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def _train_one(
    config: TrainConfig,
    folder: str,
    data: Dataset,
    progress: bool | None,
    device: str | None,
    speed: SpeedOptions | None = None,
) -> tuple[dict | None, float, str | None]:
    t0 = time.perf_counter()
    try:
        result = train(config, folder, data=data, progress=progress, device=device, speed=speed)
        return result, time.perf_counter() - t0, None
    except Exception as err:  # one failed run must not stop the sweep
        return None, time.perf_counter() - t0, _error_text(err)


# --- worker processes -------------------------------------------------------------------------

_WORKER_DATA: Dataset | None = None


def _init_worker(loader: DataLoader, config: TrainConfig, threads: int) -> None:
    global _WORKER_DATA
    torch.set_num_threads(threads)
    _WORKER_DATA = loader(config)  # once per worker process, reused by all its runs


def _worker_train(
    config: TrainConfig, folder: str, device: str | None, speed: SpeedOptions | None
) -> tuple[dict | None, float, str | None]:
    assert _WORKER_DATA is not None, "worker started without its data"
    return _train_one(config, folder, _WORKER_DATA, False, device, speed)


class LocalExecutor:
    """Runs on this machine: one at a time in this process (workers=1, the default), or in
    `workers` spawned processes that each load the data once and use cores // workers threads.

    With workers > 1 from a script of your own, guard it with `if __name__ == "__main__":`
    (spawned workers import the main module; the `lrlc` command already does this).
    `device` is passed to every run ("cpu" by default; "cuda" to train on this machine's GPU),
    and so are the `speed` switches (lrlc.machine).
    """

    def __init__(
        self,
        workers: int = 1,
        threads: int | None = None,
        device: str | None = None,
        speed: SpeedOptions | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        resolve_device(device)  # a bad --device fails before the first run, not in each
        self.workers, self.device, self.speed = workers, device, speed
        self.threads = threads or threads_per_worker(workers)

    @property
    def description(self) -> str:
        where = f", on {self.device}" if self.device not in (None, "cpu") else ""
        if self.workers == 1:
            return f"local, 1 run at a time, {torch.get_num_threads()} torch threads{where}"
        return f"local, {self.workers} worker processes x {self.threads} torch threads{where}"

    def run(self, jobs: Sequence[Job], loader: DataLoader, report: Report) -> None:
        if self.workers == 1:
            data = loader(jobs[0].config)  # once per sweep: every job shares the data settings
            for job in jobs:
                outcome = _train_one(
                    job.config, str(job.run_dir), data, None, self.device, self.speed
                )
                report(job, *outcome)
            return
        queue = list(jobs)
        while queue:  # a new pool after each one that a dying worker broke
            queue = self._run_pool(queue, loader, report)

    def _run_pool(self, queue: list[Job], loader: DataLoader, report: Report) -> list[Job]:
        """Run `queue` in one pool, at most `workers` jobs submitted at a time, so that the
        jobs in flight are exactly those running. If a worker process dies (the kernel's
        out-of-memory killer, a crash), the pool breaks: its running jobs are reported as
        failed (the next invocation retries them) and the jobs not yet started are returned,
        for a new pool, instead of ending the sweep. Returns [] when the queue is done."""
        # spawn, not fork: a forked child of a process that already ran OpenMP can deadlock.
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(queue)),
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(loader, queue[0].config, self.threads),
        )
        queue, running = list(queue), {}
        try:
            while queue or running:
                while queue and len(running) < self.workers:
                    j = queue[0]
                    args = (j.config, str(j.run_dir), self.device, self.speed)
                    try:  # a worker may have died since the last wait
                        running[pool.submit(_worker_train, *args)] = j
                    except BrokenProcessPool:
                        break
                    queue.pop(0)
                else:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    if not any(_died(f) for f in done):
                        for future in done:
                            report(running.pop(future), *future.result())
                        continue
                for future, job in running.items():  # the pool broke: collect every job in it
                    report(job, *_outcome(future))
                return queue
            return []
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _died(future: Future) -> bool:
    return isinstance(future.exception(), BrokenProcessPool)


def _outcome(future: Future) -> tuple[dict | None, float, str | None]:
    """A job's outcome once its pool broke: its result if it came back first, else
    WORKER_DIED (the broken pool sets that exception on every job it did not finish)."""
    return (None, 0.0, WORKER_DIED) if _died(future) else future.result()


# --- Ray --------------------------------------------------------------------------------------


def _ray_train(
    config: TrainConfig,
    folder: str,
    data: Dataset,
    threads: int,
    device: str | None,
    speed: SpeedOptions | None,
) -> tuple[dict | None, float, str | None]:
    torch.set_num_threads(threads)
    return _train_one(config, folder, data, False, device, speed)


class RayExecutor:
    """Runs each job as a Ray task that calls `train` on one config.

    Shared filesystem assumed: every task writes to the job's run folder path as the driver
    sees it, so on a multi-node cluster the sweep folder must be mounted at the same path on
    every node (NFS, a cluster filesystem, ...). The driver loads the dataset once and puts it
    in Ray's object store; tasks read it from there (no data folder needed on the workers).

    address: an existing cluster ("auto", "ray://host:10001", ...); without it a local Ray is
    started with `num_cpus` CPUs (default: all) and shut down at the end. An already initialised
    Ray (e.g. by the caller) is used as it is and left running. Each task reserves
    `cpus_per_run` CPUs and uses as many torch threads, and `gpus_per_run` GPUs (which may be
    a fraction, to share a GPU); with GPUs the runs train on "cuda", Ray picking the GPU.
    """

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        cpus_per_run: int = 1,
        gpus_per_run: float = 0.0,
        speed: SpeedOptions | None = None,
    ) -> None:
        if cpus_per_run < 1:
            raise ValueError(f"cpus_per_run must be >= 1, got {cpus_per_run}")
        if gpus_per_run < 0:
            raise ValueError(f"gpus_per_run must be >= 0, got {gpus_per_run}")
        self.address, self.num_cpus, self.cpus_per_run = address, num_cpus, cpus_per_run
        self.gpus_per_run, self.speed = gpus_per_run, speed

    @property
    def description(self) -> str:
        where = self.address or f"local Ray, {self.num_cpus or os.cpu_count()} CPUs"
        gpus = f", {self.gpus_per_run:g} GPU(s) per run" if self.gpus_per_run else ""
        return f"ray ({where}), {self.cpus_per_run} CPU(s) per run{gpus}"

    def _start(self) -> bool:
        try:
            import ray
        except ImportError as err:
            raise RuntimeError(
                "the Ray executor needs Ray: pip install 'lrlc[ray]' (or 'ray[default]')"
            ) from err
        if ray.is_initialized():
            return False
        if self.address:
            ray.init(address=self.address)
        else:
            ray.init(num_cpus=self.num_cpus or os.cpu_count(), include_dashboard=False)
        return True

    def run(self, jobs: Sequence[Job], loader: DataLoader, report: Report) -> None:
        import ray

        started = self._start()
        remaining: list = []
        try:
            data_ref = ray.put(loader(jobs[0].config))
            task = ray.remote(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run)(_ray_train)
            # Ray sets CUDA_VISIBLE_DEVICES per task, so "cuda" is the GPU it reserved.
            device = "cuda" if self.gpus_per_run else None
            refs = {
                task.remote(
                    j.config, str(j.run_dir), data_ref, self.cpus_per_run, device, self.speed
                ): j
                for j in jobs
            }
            remaining = list(refs)
            while remaining:
                done, remaining = ray.wait(remaining, num_returns=1)
                for ref in done:
                    try:
                        outcome = ray.get(ref)
                    except Exception as err:  # a crashed worker or node: report, go on
                        outcome = (None, 0.0, _error_text(err))
                    report(refs[ref], *outcome)
        finally:
            # On a cluster that outlives this driver, queued tasks must not keep training.
            for ref in remaining:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()

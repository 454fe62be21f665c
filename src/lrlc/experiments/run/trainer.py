"""One training run: config -> trained model, per-epoch metrics, checkpoints, result.json.

The run is deterministic given its config: the initialisation comes from the run seed and
each epoch's data order from (seed, epoch), so a run resumed from its last checkpoint ends
with exactly the weights of an uninterrupted one. Its batches come from a feed (`feed.py`:
in-memory tensors, or files read by a DataLoader); under torchrun, its processes train it
together (`distributed.py`) and only rank 0 writes.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...data import Dataset, StreamedDataset, open_dataset
from ...functional import measured_paths, restore_measured_paths
from ...layers import LowRankLocallyConnected2d
from ...models import build_model
from ..config import TrainConfig
from ..files import save_checkpoint, write_json, write_text
from ..machine import ExecutionPlan, SpeedOptions, plan_execution
from ..progress import EpochProgress
from ..provenance import git_commit
from ..records import CHECKPOINT, METRICS, RESULT, finished_result
from .device import resolve_device
from .distributed import Processes
from .evaluation import evaluate, evaluation_sums
from .feed import Batch, epoch_order, make_feed
from .folder import (
    NonFiniteLossError,
    RunError,
    keep_checkpoint_precision,
    load_resume,
    nonfinite,
    prepare_out_dir,
)
from .memory import keep_freed_memory
from .outcome import result_record, write_learned
from .recipe import learning_rate, lr_at, make_optimizer, recipe_for
from .trace import Trace

__all__ = ["epoch_order", "evaluate", "load_run_data", "lr_at", "train"]


def load_run_data(
    config: TrainConfig, data_dir: str | Path | None = None
) -> Dataset | StreamedDataset:
    """The dataset a run trains on: split, subset and shifted as its config says; in memory,
    or read from its files for a `folder:...,stream` name (augmented as its preset says)."""
    return open_dataset(
        config.dataset,
        data_dir,
        train_size=config.train_size,
        translate=config.translate,
        seed=config.data_seed,
        subset_seed=config.data_seed,
        augment=recipe_for(config).augment,
        **({"canvas": config.canvas} if config.canvas else {}),
    )


def _evaluate_split(run: _Run, split: str) -> tuple[float, float]:
    """(mean cross-entropy, accuracy %) of a split, every process evaluating its share with
    rank 0's BatchNorm statistics."""
    run.processes.broadcast_buffers(run.model)
    sums = evaluation_sums(run.model, run.feed.evaluation(split), run.plan)
    loss_sum, correct, n = run.processes.sum(sums)
    return loss_sum / max(1, n), 100.0 * correct / max(1, n)


@dataclass
class _Run:
    """The state of one run while it trains."""

    config: TrainConfig
    out: Path
    data: Dataset | StreamedDataset
    plan: ExecutionPlan
    model: nn.Module
    optimizer: torch.optim.Optimizer
    history: list[dict[str, Any]]
    start_epoch: int = 0
    wall: float = 0.0
    processes: Processes = dataclasses.field(default_factory=Processes)
    feed: Any = None  # a TensorFeed or LoaderFeed (feed.py)


def _prepare(config: TrainConfig, out: Path, data: Dataset, plan: ExecutionPlan) -> _Run:
    """Build the model and optimizer, and load the checkpoint if the run is half done."""
    if data.sizes()["train"] < 2:
        raise RunError(
            f"the training split has {data.sizes()['train']} image(s); BatchNorm needs at "
            "least 2 per step: use a larger --train-size"
        )
    torch.manual_seed(config.seed)
    model = build_model(
        config.model,
        data.input_shape,
        data.num_classes,
        config.rank,
        config.width,
        layer_kwargs=config.layer_kwargs,
    ).to(plan.device)
    for layer in model.modules():
        if isinstance(layer, LowRankLocallyConnected2d):
            layer.path = plan.lrlc_path  # a speed switch: both paths compute the same sums
    if plan.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model.parameters(), config)
    run = _Run(config, out, data, plan, model, optimizer, history=[])
    state = load_resume(out, config, data.fingerprint)
    if state is not None:
        # The LRLC paths its timed close calls chose before, so the rounding goes on as it was.
        restore_measured_paths(state.get("lrlc_path_timings", {}))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        run.start_epoch, run.history, run.wall = (
            state["epoch"],
            state["history"],
            state["wall_time_s"],
        )
        run.plan = keep_checkpoint_precision(plan, state)
        print(
            f"resuming from {out / CHECKPOINT}: {run.start_epoch} of {config.epochs} epochs done",
            flush=True,
        )
    return run


def _train_epoch(run: _Run, epoch: int, step_fn: nn.Module, bar: EpochProgress,
                 trace: Trace) -> dict[str, Any]:  # fmt: skip
    """One pass over the training split; returns the epoch's training metrics."""
    config, n, steps = run.config, run.feed.batches.n, run.feed.batches.steps
    run.model.train()
    bar.start_epoch(epoch)
    loss_sum, correct, lr = 0.0, 0, learning_rate(config, epoch * steps, steps)
    for batch in run.feed.epoch(epoch):
        lr = learning_rate(config, epoch * steps + batch.step, steps)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        trace.saw(epoch, batch.step, batch.indices)
        loss_value, right = _step(run, step_fn, batch, epoch, lr)
        loss_sum += loss_value * len(batch.y)
        correct += right
        bar.step(loss_value, images=batch.total)
    loss_sum, correct = run.processes.sum([loss_sum, correct])
    return {"train_loss": loss_sum / n, "train_acc": 100.0 * correct / n, "lr": lr}


def _step(run: _Run, step_fn: nn.Module, batch: Batch, epoch: int, lr: float) -> tuple[float, int]:
    """One optimizer step on this process's shard; (its mean loss, its correct count)."""
    with run.plan.autocast():
        logits = step_fn(run.plan.prepare_input(batch.x))
    loss = F.cross_entropy(logits.float(), batch.y)
    if not torch.isfinite(loss):
        raise NonFiniteLossError(
            f"loss became {loss.item()} at epoch {epoch + 1}, step {batch.step + 1} (lr "
            f"{lr:.3g}); kept {_kept(run, epoch)}. Lower --lr or use more warm-up epochs, then "
            "rerun in a new --out folder"
        )
    run.optimizer.zero_grad(set_to_none=True)
    (loss * batch.weight).backward()
    run.optimizer.step()
    # one host sync per step, shared by the sum and the bar
    return loss.item(), int((logits.argmax(1) == batch.y).sum().item())


def _kept(run: _Run, epoch: int) -> str:
    last = run.out / CHECKPOINT
    if last.exists():
        return f"the last good checkpoint ({last}, epoch {epoch})"
    return "no checkpoint (it failed in the first epoch)"


def _save_epoch(run: _Run, epoch: int) -> None:
    """Checkpoint the finished epoch, but only a state that is finite throughout.

    A step can leave finite weights yet inf BatchNorm statistics (or Adam moments) after an
    overflow; such a state would resume into NaN, so the previous checkpoint is kept instead.
    """
    state = {
        "config": run.config.to_dict(),
        "epoch": epoch + 1,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "history": run.history,
        "wall_time_s": run.wall,
        "data_fingerprint": run.data.fingerprint,
        "precision": run.plan.precision,
        "lrlc_path_timings": {key: asdict(t) for key, t in measured_paths().items()},
        # so that the net can be rebuilt without its data (lrlc convert, report figures)
        "input_shape": list(run.data.input_shape),
        "num_classes": run.data.num_classes,
    }
    bad = nonfinite({"model": state["model"], "optimizer": state["optimizer"]["state"]})
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise NonFiniteLossError(
            f"after epoch {epoch + 1} the model state holds NaN or inf ({shown}); kept "
            f"{_kept(run, epoch)}. Lower --lr or use more warm-up epochs, then rerun in a new "
            "--out folder"
        )
    if run.processes.is_main:
        save_checkpoint(run.out / CHECKPOINT, state)
        _write_metrics(run.out / METRICS, run.history)


def train(
    config: TrainConfig,
    out_dir: str | Path,
    data: Dataset | StreamedDataset | None = None,
    data_dir: str | Path | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, nn.Module], None] | None = None,
    device: str | torch.device | None = None,
    speed: SpeedOptions | None = None,
    processes: Processes | None = None,
) -> dict[str, Any]:
    """Train (or resume, or return the finished result of) one run in `out_dir`.

    `device`: "cpu" (the default), "cuda", "cuda:N" or "auto"; see `lrlc.device`. `speed`:
    channels_last, compile, threads and DataLoader workers (default: chosen from the machine,
    `lrlc.machine`). `processes`: the processes training this run together, from
    `distributed.start()` (which then fixes the device); default: this one alone.
    """
    out = Path(out_dir)
    procs = processes if processes is not None else Processes(device=resolve_device(device))
    created = prepare_out_dir(out) if procs.is_main else False
    procs.barrier()  # the folder exists for every process
    git_commit()  # pin the code version this process runs before any time passes
    keep_freed_memory()
    done = finished_result(out, config)
    if done is not None:
        return done
    if data is None:
        data = _load_data(config, data_dir, out, created, procs)
    plan = plan_execution(config.precision, procs.device, speed)
    print(f"run {out.name}: {plan.describe()}", flush=True)
    run = _prepare(config, out, data, plan)
    run.processes = procs
    procs.check_same("checkpoints (epochs done)", run.start_epoch)
    run.model = procs.prepare(run.model)
    step_fn = procs.wrap(run.model)
    step_fn = torch.compile(step_fn) if run.plan.compile else step_fn
    run.feed = make_feed(data, config, procs, speed.loader_workers if speed else None)
    _train_epochs(run, step_fn, progress, on_epoch_end)
    result = result_record(run.config, run.data, run.model, run.plan, procs, _final_metrics(run))
    if procs.is_main:
        write_learned(out, run.model)  # before result.json, which marks the run finished
        write_json(out / RESULT, result)
    procs.barrier()
    return result


def _load_data(
    config: TrainConfig, data_dir: str | Path | None, out: Path, created: bool, procs: Processes
) -> Dataset | StreamedDataset:
    # Rank 0 loads first, so that the others find the decoded-image cache it writes.
    with procs.main_first():
        try:
            return load_run_data(config, data_dir)
        except BaseException:
            if created and not any(out.iterdir()):
                out.rmdir()  # leave no empty run folder behind a failed start
            raise


def _train_epochs(
    run: _Run,
    step_fn: nn.Module,
    progress: bool | None,
    on_epoch_end: Callable[[int, nn.Module], None] | None,
) -> None:
    """Train, evaluate and checkpoint each epoch not done yet."""
    config, procs = run.config, run.processes
    trace = Trace(procs.rank)
    batches = run.feed.batches
    bar = EpochProgress(config.epochs, batches.steps, progress if procs.is_main else False,
                        images=batches.n)  # fmt: skip
    for epoch in range(run.start_epoch, config.epochs):
        t0 = time.perf_counter()
        row = {"epoch": epoch + 1, **_train_epoch(run, epoch, step_fn, bar, trace)}
        if _validates(config, epoch):
            t_eval = time.perf_counter()
            row["val_loss"], row["val_acc"] = _evaluate_split(run, "val")
            row["eval_time_s"] = time.perf_counter() - t_eval
        row["epoch_time_s"] = time.perf_counter() - t0
        run.wall += row["epoch_time_s"]
        run.history.append(row)
        _save_epoch(run, epoch)
        procs.barrier()  # the checkpoint is written before any process goes on (or stops)
        bar.end_epoch(row, eta_s=(config.epochs - epoch - 1) * row["epoch_time_s"])
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, run.model)
        trace.epoch_saved(epoch + 1)


def _write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    # Rewritten whole from the checkpointed history, so a resumed run never duplicates lines.
    write_text(path, "".join(json.dumps(r) + "\n" for r in history))


def _validates(config: TrainConfig, epoch: int) -> bool:
    """Whether epoch (0-based) ends with a validation pass: every val_every-th and the last."""
    last = epoch + 1 == config.epochs
    return last or (config.val_every > 0 and (epoch + 1) % config.val_every == 0)


def _final_metrics(run: _Run) -> dict[str, Any]:
    metrics = {}
    # Test once, here, on the final weights; validation was last evaluated on these same
    # weights at the end of the last epoch, so that pass is reused rather than repeated.
    last = run.history[-1] if run.history else {}
    for split in ("train", "val", "test"):
        if split == "val" and "val_acc" in last:
            loss, acc = last["val_loss"], last["val_acc"]
        else:
            loss, acc = _evaluate_split(run, split)
        metrics[f"{split}_acc"], metrics[f"{split}_loss"] = acc, loss
    metrics["epochs_done"] = len(run.history)
    metrics["wall_time_s"] = run.wall
    return metrics

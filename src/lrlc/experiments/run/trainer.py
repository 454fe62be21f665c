"""One training run: config -> trained model, per-epoch metrics, checkpoints, result.json.

The run is deterministic given its config: the initialisation comes from the run seed and
each epoch's data order from (seed, epoch), so a run resumed from its last checkpoint ends
with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...data import Dataset, load_dataset
from ...layers import LowRankLocallyConnected2d
from ...models import build_model
from ..config import TrainConfig
from ..files import load_checkpoint, save_checkpoint, write_json, write_text
from ..machine import ExecutionPlan, SpeedOptions, plan_execution
from ..progress import EpochProgress, warn
from ..provenance import environment, git_commit
from ..records import CHECKPOINT, METRICS, RESULT, finished_result
from .device import describe_device, resolve_device
from .memory import keep_freed_memory


class RunError(RuntimeError):
    """A run cannot go on; the message says why and what to do."""


class NonFiniteLossError(RunError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def load_run_data(config: TrainConfig, data_dir: str | Path | None = None) -> Dataset:
    """The dataset a run trains on: split, subset, shifted and placed as its config says."""
    return load_dataset(
        config.dataset,
        data_dir,
        train_size=config.train_size,
        translate=config.translate,
        seed=config.data_seed,
        subset_seed=config.data_seed,
        canvas=config.canvas,
    )


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to `peak` over `warmup_steps`, then cosine decay to 0 at `total_steps`."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The permutation of the training set for one epoch, fixed by (seed, epoch)."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)


@torch.no_grad()
def evaluate(
    model: nn.Module, images: Tensor, labels: Tensor, config: TrainConfig, plan: ExecutionPlan
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in percent) in eval mode, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), config.eval_batch_size):
        x = plan.prepare_input(images[start : start + config.eval_batch_size].to(device))
        y = labels[start : start + config.eval_batch_size].to(device)
        with plan.autocast():
            logits = model(x)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    n = max(1, len(labels))
    return loss_sum / n, 100.0 * correct / n


def _prepare_out_dir(out: Path) -> bool:
    """Create (and probe) the run folder; returns whether this call created it."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise RunError(
            f"cannot write to the output folder {out} ({err.strerror or err}); "
            "choose another --out or fix its permissions"
        ) from err
    return created


def _load_resume(out: Path, config: TrainConfig, fingerprint: str) -> dict[str, Any] | None:
    path = out / CHECKPOINT
    if not path.exists():
        return None
    state = load_checkpoint(path)
    differs = config.differences(state["config"])
    if differs:
        what = ", ".join(f"{k}: {then!r} there, {now!r} now" for k, (then, now) in differs.items())
        raise RunError(
            f"{out} holds a checkpoint of a different configuration ({what}); use another "
            f"--out, give the same settings to resume it, or delete {path} to start over"
        )
    if state["data_fingerprint"] != fingerprint:
        raise RunError(
            f"the data changed since {path} was written (fingerprint {state['data_fingerprint']}"
            f" then, {fingerprint} now); delete the checkpoint to start over"
        )
    return state


def _keep_checkpoint_precision(plan: ExecutionPlan, state: dict[str, Any]) -> ExecutionPlan:
    """A resumed run goes on in the precision it started in, so no run mixes precisions.

    A sweep started on a machine with native bf16 and resumed on one without it finishes its
    half-done run in (emulated, slow) bf16, and says so; its next runs resolve `auto` afresh.
    """
    then = state.get("precision", plan.precision)
    if then == plan.precision:
        return plan
    warn(
        f"this run started in {then} and resumes in {then}, although {plan.precision} was "
        f"chosen here ({plan.precision_reason}); to train it in {plan.precision} from scratch "
        "instead, delete its checkpoint.pt"
    )
    why = f"kept from the checkpoint, which started in {then}"
    return dataclasses.replace(plan, precision=then, precision_reason=why)


def _nonfinite(tensors: dict[str, Any]) -> list[str]:
    """Names of the floating-point tensors (nested in dicts/lists) holding NaN or inf."""
    bad: list[str] = []

    def visit(name: str, value: Any) -> None:
        if isinstance(value, Tensor):
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                bad.append(name)
        elif isinstance(value, dict):
            for k, v in value.items():
                visit(f"{name}.{k}" if name else str(k), v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                visit(f"{name}.{i}", v)

    visit("", tensors)
    return bad


@dataclass
class _Run:
    """The state of one run while it trains."""

    config: TrainConfig
    out: Path
    data: Dataset
    plan: ExecutionPlan
    model: nn.Module
    optimizer: torch.optim.Optimizer
    history: list[dict[str, Any]]
    start_epoch: int = 0
    wall: float = 0.0


def _prepare(config: TrainConfig, out: Path, data: Dataset, plan: ExecutionPlan) -> _Run:
    """Build the model and optimizer, and load the checkpoint if the run is half done."""
    if len(data.train[1]) < 2:
        raise RunError(
            f"the training split has {len(data.train[1])} image(s); BatchNorm needs at least 2 "
            "per step: use a larger --train-size"
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
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    run = _Run(config, out, data, plan, model, optimizer, history=[])
    state = _load_resume(out, config, data.fingerprint)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        run.start_epoch, run.history, run.wall = (
            state["epoch"],
            state["history"],
            state["wall_time_s"],
        )
        run.plan = _keep_checkpoint_precision(plan, state)
        print(
            f"resuming from {out / CHECKPOINT}: {run.start_epoch} of {config.epochs} epochs done",
            flush=True,
        )
    return run


def _train_epoch(run: _Run, epoch: int, step_fn: nn.Module, images: Tensor, labels: Tensor,
                 bar: EpochProgress) -> dict[str, Any]:  # fmt: skip
    """One pass over the training split; returns the epoch's training metrics."""
    config, plan = run.config, run.plan
    n = len(labels)
    steps = math.ceil(n / config.batch_size)
    total_steps, warmup = steps * config.epochs, steps * config.warmup_epochs
    run.model.train()
    bar.start_epoch(epoch)
    order = epoch_order(n, config.seed, epoch).to(plan.device)
    loss_sum, correct, lr = 0.0, 0, lr_at(epoch * steps, total_steps, warmup, config.lr)
    for s in range(steps):
        idx = order[s * config.batch_size : (s + 1) * config.batch_size]
        if len(idx) < 2:  # BatchNorm cannot train on one example (a last batch of 1)
            continue
        lr = lr_at(epoch * steps + s, total_steps, warmup, config.lr)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        x, y = plan.prepare_input(images[idx]), labels[idx]
        with plan.autocast():
            logits = step_fn(x)
        loss = F.cross_entropy(logits.float(), y)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"loss became {loss.item()} at epoch {epoch + 1}, step {s + 1} (lr {lr:.3g});"
                f" kept {_kept(run, epoch)}. Lower --lr or use more warm-up epochs, then rerun "
                "in a new --out folder"
            )
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        loss_value = loss.item()  # one host sync per step, shared by the sum and the bar
        loss_sum += loss_value * len(idx)
        correct += (logits.argmax(1) == y).sum().item()
        bar.step(loss_value)
    return {"train_loss": loss_sum / n, "train_acc": 100.0 * correct / n, "lr": lr}


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
        # so that the net can be rebuilt without its data (lrlc convert, report figures)
        "input_shape": list(run.data.input_shape),
        "num_classes": run.data.num_classes,
    }
    bad = _nonfinite({"model": state["model"], "optimizer": state["optimizer"]["state"]})
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise NonFiniteLossError(
            f"after epoch {epoch + 1} the model state holds NaN or inf ({shown}); kept "
            f"{_kept(run, epoch)}. Lower --lr or use more warm-up epochs, then rerun in a new "
            "--out folder"
        )
    save_checkpoint(run.out / CHECKPOINT, state)
    _write_metrics(run.out / METRICS, run.history)


def train(
    config: TrainConfig,
    out_dir: str | Path,
    data: Dataset | None = None,
    data_dir: str | Path | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, nn.Module], None] | None = None,
    device: str | torch.device | None = None,
    speed: SpeedOptions | None = None,
) -> dict[str, Any]:
    """Train (or resume, or return the finished result of) one run in `out_dir`.

    `device`: "cpu" (the default), "cuda", "cuda:N" or "auto"; see `lrlc.device`. `speed`:
    channels_last, compile and threads (default: chosen from the machine, `lrlc.machine`).
    """
    out = Path(out_dir)
    dev = resolve_device(device)
    created = _prepare_out_dir(out)
    git_commit()  # pin the code version this process runs before any time passes
    keep_freed_memory()
    done = finished_result(out, config)
    if done is not None:
        return done
    if data is None:
        try:
            data = load_run_data(config, data_dir)
        except BaseException:
            if created and not any(out.iterdir()):
                out.rmdir()  # leave no empty run folder behind a failed start
            raise
    plan = plan_execution(config.precision, dev, speed)
    print(f"run {out.name}: {plan.describe()}", flush=True)
    run = _prepare(config, out, data, plan)
    step_fn = torch.compile(run.model) if run.plan.compile else run.model
    images, labels = (t.to(dev) for t in data.train)  # the training split stays on the device
    bar = EpochProgress(config.epochs, math.ceil(len(labels) / config.batch_size), progress)
    for epoch in range(run.start_epoch, config.epochs):
        t0 = time.perf_counter()
        row = {"epoch": epoch + 1, **_train_epoch(run, epoch, step_fn, images, labels, bar)}
        if _validates(config, epoch):
            t_eval = time.perf_counter()
            row["val_loss"], row["val_acc"] = evaluate(run.model, *data.val, config, run.plan)
            row["eval_time_s"] = time.perf_counter() - t_eval
        row["epoch_time_s"] = time.perf_counter() - t0
        run.wall += row["epoch_time_s"]
        run.history.append(row)
        _save_epoch(run, epoch)
        bar.end_epoch(row, eta_s=(config.epochs - epoch - 1) * row["epoch_time_s"])
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, run.model)
    result = _result(run)
    write_json(out / RESULT, result)
    return result


def _validates(config: TrainConfig, epoch: int) -> bool:
    """Whether epoch (0-based) ends with a validation pass: every val_every-th and the last."""
    last = epoch + 1 == config.epochs
    return last or (config.val_every > 0 and (epoch + 1) % config.val_every == 0)


def _write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    # Rewritten whole from the checkpointed history, so a resumed run never duplicates lines.
    write_text(path, "".join(json.dumps(r) + "\n" for r in history))


def _result(run: _Run) -> dict[str, Any]:
    config, data, model = run.config, run.data, run.model
    metrics = {}
    # Test once, here, on the final weights; validation was last evaluated on these same
    # weights at the end of the last epoch, so that pass is reused rather than repeated.
    last = run.history[-1] if run.history else {}
    for split in ("train", "val", "test"):
        if split == "val" and "val_acc" in last:
            loss, acc = last["val_loss"], last["val_acc"]
        else:
            loss, acc = evaluate(model, *data.split(split), config, run.plan)
        metrics[f"{split}_acc"], metrics[f"{split}_loss"] = acc, loss
    metrics["epochs_done"] = len(run.history)
    metrics["wall_time_s"] = run.wall
    return {
        "config": config.to_dict(),
        "protocol": config.protocol(),
        "reduced_protocol": config.is_reduced(),
        "seed": config.seed,
        "git_commit": git_commit(),
        "data_fingerprint": data.fingerprint,
        "data_source": data.source,
        "data_sizes": data.sizes(),
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        # The non-stationary layers' learned relaxation, so reports need no checkpoint.
        "learned_omega_1": {str(d): w for d, w in model.learned_omega_1().items()},
        "device": describe_device(next(model.parameters()).device),
        # The precision the run trained in (resolved from config.precision) and why.
        **run.plan.record(),
        "metrics": metrics,
        "environment": environment(),
    }

"""One training run: config -> trained model, per-epoch metrics, checkpoints, result.json.

The run is deterministic given its config: the initialisation comes from the run seed and
each epoch's data order from (seed, epoch), so a run resumed from its last checkpoint ends
with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpoint import load_checkpoint, save_checkpoint, write_json, write_text
from .config import TrainConfig
from .data import Dataset, load_dataset
from .device import describe_device, resolve_device
from .models import build_model
from .provenance import environment, git_commit
from .runtime import keep_freed_memory

CHECKPOINT = "checkpoint.pt"
RESULT = "result.json"
METRICS = "metrics.jsonl"


class RunError(RuntimeError):
    """A run cannot go on; the message says why and what to do."""


class NonFiniteLossError(RunError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def load_run_data(config: TrainConfig, data_dir: str | Path | None = None) -> Dataset:
    """The dataset a run trains on: split, subset and shifted as its config says."""
    return load_dataset(
        config.dataset,
        data_dir,
        train_size=config.train_size,
        translate=config.translate,
        seed=config.data_seed,
        subset_seed=config.data_seed,
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


def autocast_context(config: TrainConfig, device_type: str = "cpu"):
    """bf16 autocast on `device_type` when the config asks for it, else a no-op context."""
    if config.bf16:
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare_input(x: Tensor, config: TrainConfig) -> Tensor:
    """The batch in the memory format the config trains in."""
    return x.contiguous(memory_format=torch.channels_last) if config.channels_last else x


@torch.no_grad()
def evaluate(
    model: nn.Module, images: Tensor, labels: Tensor, config: TrainConfig
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in percent) in eval mode, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), config.eval_batch_size):
        x = prepare_input(images[start : start + config.eval_batch_size].to(device), config)
        y = labels[start : start + config.eval_batch_size].to(device)
        with autocast_context(config, device.type):
            logits = model(x)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    n = max(1, len(labels))
    return loss_sum / n, 100.0 * correct / n


def _check_out_dir(out: Path) -> None:
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


class _Progress:
    """A tqdm bar on a terminal, one plain line per epoch otherwise."""

    def __init__(self, total_epochs: int, steps: int, enabled: bool | None) -> None:
        self.tty = sys.stderr.isatty() if enabled is None else enabled
        self.total_epochs, self.steps = total_epochs, steps
        self.bar = None

    def start_epoch(self, epoch: int) -> None:
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.steps,
                desc=f"epoch {epoch + 1}/{self.total_epochs}",
                leave=False,
                dynamic_ncols=True,
            )

    def step(self, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.3f}")

    def end_epoch(self, row: dict[str, Any], eta_s: float) -> None:
        if self.bar is not None:
            self.bar.close()
        print(
            f"epoch {row['epoch']}/{self.total_epochs}  loss {row['train_loss']:.4f}  "
            f"train_acc {row['train_acc']:.2f}  val_acc {row['val_acc']:.2f}  "
            f"{row['epoch_time_s']:.1f}s  ETA {eta_s / 60:.1f} min",
            file=sys.stderr if self.tty else sys.stdout,
            flush=True,
        )


def _load_resume(out: Path, config: TrainConfig, fingerprint: str) -> dict[str, Any] | None:
    path = out / CHECKPOINT
    if not path.exists():
        return None
    state = load_checkpoint(path)
    if state["config"] != config.to_dict():
        raise RunError(
            f"{out} holds a checkpoint of a different configuration; use another --out, or "
            f"delete {path} to start over. Saved: {state['config']}; now: {config.to_dict()}"
        )
    if state["data_fingerprint"] != fingerprint:
        raise RunError(
            f"the data changed since {path} was written (fingerprint {state['data_fingerprint']}"
            f" then, {fingerprint} now); delete the checkpoint to start over"
        )
    return state


def train(
    config: TrainConfig,
    out_dir: str | Path,
    data: Dataset | None = None,
    data_dir: str | Path | None = None,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, nn.Module], None] | None = None,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """Train (or resume, or return the finished result of) one run in `out_dir`.

    `device`: "cpu" (the default), "cuda", "cuda:N" or "auto"; see `lrlc.device`.
    """
    out = Path(out_dir)
    _check_out_dir(out)
    git_commit()  # pin the code version this process runs before any time passes
    dev = resolve_device(device)
    keep_freed_memory()
    if (out / RESULT).exists():
        done = json.loads((out / RESULT).read_text())
        if done.get("config") == config.to_dict():
            return done
    if data is None:
        data = load_run_data(config, data_dir)
    torch.manual_seed(config.seed)
    model = build_model(
        config.model,
        data.input_shape,
        data.num_classes,
        config.rank,
        config.width,
        layer_kwargs=config.layer_kwargs,
    )
    model = model.to(dev)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history: list[dict[str, Any]] = []
    start_epoch, wall = 0, 0.0
    state = _load_resume(out, config, data.fingerprint)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history, wall = state["epoch"], state["history"], state["wall_time_s"]
    step_fn = torch.compile(model) if config.compile else model

    images, labels = (t.to(dev) for t in data.train)  # the training split stays on the device
    n = len(labels)
    steps = math.ceil(n / config.batch_size)
    total_steps, warmup = steps * config.epochs, steps * config.warmup_epochs
    bar = _Progress(config.epochs, steps, progress)
    for epoch in range(start_epoch, config.epochs):
        t0 = time.perf_counter()
        model.train()
        bar.start_epoch(epoch)
        order = epoch_order(n, config.seed, epoch).to(dev)
        loss_sum, correct = 0.0, 0
        for s in range(steps):
            idx = order[s * config.batch_size : (s + 1) * config.batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on one example
                continue
            lr = lr_at(epoch * steps + s, total_steps, warmup, config.lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = prepare_input(images[idx], config), labels[idx]
            with autocast_context(config, dev.type):
                logits = step_fn(x)
            loss = F.cross_entropy(logits.float(), y)
            if not torch.isfinite(loss):
                last = out / CHECKPOINT
                kept = (
                    f"the last good checkpoint ({last}, epoch {epoch})"
                    if last.exists()
                    else ("no checkpoint (it failed in the first epoch)")
                )
                raise NonFiniteLossError(
                    f"loss became {loss.item()} at epoch {epoch + 1}, step {s + 1} (lr {lr:.3g});"
                    f" kept {kept}. Lower --lr or use more warm-up epochs, then rerun in a new "
                    "--out folder"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_value = loss.item()  # one host sync per step, shared by the sum and the bar
            loss_sum += loss_value * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
            bar.step(loss_value)
        val_loss, val_acc = evaluate(model, *data.val, config)
        epoch_time = time.perf_counter() - t0
        wall += epoch_time
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / n,
            "train_acc": 100.0 * correct / n,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": lr,
            "epoch_time_s": epoch_time,
        }
        history.append(row)
        save_checkpoint(
            out / CHECKPOINT,
            {
                "config": config.to_dict(),
                "epoch": epoch + 1,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "history": history,
                "wall_time_s": wall,
                "data_fingerprint": data.fingerprint,
            },
        )
        _write_metrics(out / METRICS, history)
        bar.end_epoch(row, eta_s=(config.epochs - epoch - 1) * epoch_time)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, model)

    result = _result(config, model, data, history, wall)
    write_json(out / RESULT, result)
    return result


def _write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    # Rewritten whole from the checkpointed history, so a resumed run never duplicates lines.
    write_text(path, "".join(json.dumps(r) + "\n" for r in history))


def _result(
    config: TrainConfig, model: nn.Module, data: Dataset, history: list, wall: float
) -> dict[str, Any]:
    metrics = {}
    for split in ("train", "val", "test"):
        loss, acc = evaluate(model, *data.split(split), config)
        metrics[f"{split}_acc"], metrics[f"{split}_loss"] = acc, loss
    metrics["epochs_done"] = len(history)
    metrics["wall_time_s"] = wall
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
        "metrics": metrics,
        "environment": environment(),
    }

"""Run configuration and the training protocol presets.

A run is fully described by a `TrainConfig`; its hash names the run's folder in a sweep. A
preset fixes the protocol knobs; flags override them, and the run records both.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..data import parse_canvas
from .machine import PRECISIONS

# The paper's protocol (section 4): Adam, peak lr 0.01, batch 512, 150 epochs, 10 warm-up
# epochs then cosine decay to 0, no augmentation, no weight decay. `imagenet`: torchvision's
# reference ImageNet recipe (SGD, lr 0.1 per 256 images, /10 every 30 epochs). Optimizer,
# schedule and augmentation of each: lrlc.experiments.run.recipe.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(epochs=150, batch_size=512, lr=0.01, warmup_epochs=10, weight_decay=0.0),
    "imagenet": dict(epochs=90, batch_size=256, lr=0.1, warmup_epochs=0, weight_decay=1e-4),
}
# A preset whose lr is for this batch: another batch size without an explicit lr scales the
# lr linearly (Goyal et al. 2017, as torchvision's recipe: lr 0.1 x batch / 256).
LR_PER_BATCH = {"imagenet": 256}
PROTOCOL_KEYS = ("epochs", "batch_size", "lr", "warmup_epochs", "weight_decay")
# Fields added after runs were recorded: left out of a run's hash while at these defaults, so
# that every run that does not use them keeps the identity (and folder) it had.
LATER_FIELDS: dict[str, Any] = {"canvas": None, "val_every": 1}


@dataclass
class TrainConfig:
    """Everything that determines one training run's result."""

    dataset: str = "mnist"
    model: str = "conv"
    rank: int = 1
    width: int = 64
    seed: int = 0
    preset: str = "paper"
    epochs: int = 150
    batch_size: int = 512
    lr: float = 0.01
    warmup_epochs: int = 10
    weight_decay: float = 0.0
    train_size: int | None = None
    translate: int = 0
    data_seed: int = 0
    layer_kwargs: dict[str, Any] = field(default_factory=dict)
    # "auto", "fp32" or "bf16": the precision asked for, which is part of the run's identity;
    # what it resolved to on the machine that trained is in result.json (lrlc.machine).
    precision: str = "auto"
    eval_batch_size: int = 1024
    # "PLACEMENT:SIZE", e.g. "random:42": every image on a larger canvas (lrlc.data.canvas).
    canvas: str | None = None
    # Validate after every val_every-th epoch and after the last (0: after the last only).
    # Selection reads the final validation accuracy only; the others are for watching a run.
    val_every: int = 1

    def __post_init__(self) -> None:
        problems = []
        if self.preset not in PRESETS:
            problems.append(f"preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
        for name in ("epochs", "rank", "width", "eval_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                problems.append(f"{name} must be an integer >= 1, got {value!r}")
        # BatchNorm cannot train on one example, so a batch of 1 would be a run without steps.
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            problems.append(f"batch_size must be an integer >= 2, got {self.batch_size!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            problems.append(f"lr must be a finite number > 0, got {self.lr!r}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            problems.append(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        if self.precision not in PRECISIONS:
            problems.append(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if not 0 <= self.warmup_epochs <= self.epochs:
            problems.append(
                f"warmup_epochs must be in [0, epochs={self.epochs}], got {self.warmup_epochs}"
            )
        if not isinstance(self.val_every, int) or self.val_every < 0:
            problems.append(f"val_every must be an integer >= 0, got {self.val_every!r}")
        if self.train_size is not None and self.train_size < 1:
            problems.append(f"train_size must be >= 1, got {self.train_size}")
        if self.translate < 0:
            problems.append(f"translate must be >= 0 pixels, got {self.translate}")
        try:
            parse_canvas(self.canvas)
        except ValueError as err:
            problems.append(str(err))
        if problems:
            raise ValueError("invalid run configuration: " + "; ".join(problems))

    @classmethod
    def from_preset(cls, preset: str = "paper", **overrides: Any) -> TrainConfig:
        """The preset's protocol with `overrides` (None values are ignored).

        Fewer epochs without an explicit warm-up keep the preset's warm-up *fraction*
        (10 of 150 epochs: none for 1 epoch, 1 for 10), so a short run still decays.
        """
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        values = dict(PRESETS[preset])
        given = {k: v for k, v in overrides.items() if v is not None}
        if "epochs" in given and "warmup_epochs" not in given:
            fraction = values["warmup_epochs"] / values["epochs"]
            given["warmup_epochs"] = round(fraction * given["epochs"])
        if preset in LR_PER_BATCH and "batch_size" in given and "lr" not in given:
            given["lr"] = values["lr"] * given["batch_size"] / LR_PER_BATCH[preset]
        values.update(given)
        return cls(preset=preset, **values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """A config from its dict, including those of records written before `precision`."""
        d = migrate_config_dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        return cls(**d)

    def overrides(self) -> dict[str, Any]:
        """Protocol knobs that differ from the preset."""
        base = PRESETS[self.preset]
        return {k: getattr(self, k) for k in PROTOCOL_KEYS if getattr(self, k) != base[k]}

    def is_reduced(self) -> bool:
        """True if this run deviates from the full protocol (fewer epochs, a subset, ...)."""
        return bool(self.overrides()) or self.train_size is not None

    def protocol(self) -> str:
        """One line saying which protocol ran, e.g. 'paper preset; epochs=10, train_size=2000'."""
        changes = dict(self.overrides())
        if self.train_size is not None:
            changes["train_size"] = self.train_size
        if self.translate:
            changes["translate"] = self.translate
        if self.canvas:
            changes["canvas"] = self.canvas
        tail = ", ".join(f"{k}={v}" for k, v in changes.items())
        label = f"{self.preset} preset" + (" (reduced)" if self.is_reduced() else "")
        return label + (f"; {tail}" if tail else "")

    def differences(self, other: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """key -> (other's value, this value) for every key where the two configs differ."""
        mine, theirs = self.to_dict(), migrate_config_dict(other)
        keys = sorted(set(mine) | set(theirs))
        return {k: (theirs.get(k), mine.get(k)) for k in keys if theirs.get(k) != mine.get(k)}

    def run_id(self) -> str:
        """A short stable hash of the settings that determine the result."""
        later = LATER_FIELDS.items()
        d = {k: v for k, v in self.to_dict().items() if (k, v) not in later}
        blob = json.dumps(d, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def migrate_config_dict(d: dict[str, Any]) -> dict[str, Any]:
    """A config dict in today's fields. Records written before `precision` existed carry
    `bf16` (true: bf16 autocast) and the speed switches `channels_last` and `compile`, which
    are no longer part of a run's identity (lrlc.machine.SpeedOptions)."""
    d = dict(d)
    if "bf16" in d:
        bf16 = d.pop("bf16")
        d.setdefault("precision", "bf16" if bf16 else "fp32")
    d.pop("channels_last", None)
    d.pop("compile", None)
    return d


def recorded_precision(result: dict[str, Any]) -> str:
    """The precision a finished run trained in ('fp32' or 'bf16'), from its result.json."""
    if "precision" in result:
        return result["precision"]
    config = migrate_config_dict(result.get("config", {}))
    return config.get("precision", "fp32")  # old records asked for bf16 or fp32 explicitly

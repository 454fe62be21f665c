"""What a protocol preset fixes beyond its knobs (`config.PRESETS`): the optimizer, the shape
of the learning-rate schedule, and the training augmentation. One `Recipe` per preset; the
trainer asks this module, never the preset's name.

- `paper`: the paper's protocol (section 4): Adam, linear warm-up then cosine decay to 0 at
  the last step, no augmentation.
- `imagenet`: torchvision's reference ImageNet recipe (`references/classification`; the paper
  does not publish its own): SGD with momentum 0.9 and weight decay 1e-4, lr 0.1 for a batch
  of 256 (scaled linearly with --batch-size), divided by 10 every 30 of 90 epochs, random
  resized crops and flips for training, resize 256 + centre crop 224 to evaluate
  (`lrlc.data.augment`, so it needs a streamed folder: `folder:PATH@224,stream`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from ..config import TrainConfig


@dataclass(frozen=True)
class Recipe:
    optimizer: str = "adam"  # a key of OPTIMIZERS
    momentum: float = 0.0  # SGD's
    schedule: str = "warmup_cosine"  # a key of SCHEDULES
    decay_every: int = 30  # epochs between divisions of the lr ("step" schedule)
    decay_factor: float = 0.1
    augment: str | None = None  # a training augmentation of lrlc.data.augment


RECIPES: dict[str, Recipe] = {
    "paper": Recipe(),
    "imagenet": Recipe("sgd", momentum=0.9, schedule="step", augment="imagenet"),
}


def recipe_for(config: TrainConfig) -> Recipe:
    return RECIPES[config.preset]


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to `peak` over `warmup_steps`, then cosine decay to 0 at `total_steps`."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _warmup_cosine(config: TrainConfig, recipe: Recipe, step: int, steps: int) -> float:
    return lr_at(step, steps * config.epochs, steps * config.warmup_epochs, config.lr)


def _step_decay(config: TrainConfig, recipe: Recipe, step: int, steps: int) -> float:
    warmup = steps * config.warmup_epochs
    if step < warmup:
        return config.lr * (step + 1) / warmup
    return config.lr * recipe.decay_factor ** (step // steps // recipe.decay_every)


SCHEDULES: dict[str, Callable[[TrainConfig, Recipe, int, int], float]] = {
    "warmup_cosine": _warmup_cosine,
    "step": _step_decay,
}

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": lambda params, config, recipe: torch.optim.Adam(
        params, lr=config.lr, weight_decay=config.weight_decay
    ),
    "sgd": lambda params, config, recipe: torch.optim.SGD(
        params, lr=config.lr, momentum=recipe.momentum, weight_decay=config.weight_decay
    ),
}


def make_optimizer(
    params: Iterable[torch.nn.Parameter], config: TrainConfig
) -> torch.optim.Optimizer:
    """The optimizer of the run's preset, at its peak learning rate."""
    recipe = recipe_for(config)
    return OPTIMIZERS[recipe.optimizer](params, config, recipe)


def learning_rate(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """The learning rate of global step `step` (counted from the run's start)."""
    recipe = recipe_for(config)
    return SCHEDULES[recipe.schedule](config, recipe, step, steps_per_epoch)

"""Evaluation: summed loss and accuracy over batches, in eval mode (the trainer adds the sums
of its processes)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import TrainConfig
from ..machine import ExecutionPlan


def evaluate(
    model: nn.Module, images: Tensor, labels: Tensor, config: TrainConfig, plan: ExecutionPlan
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in percent) in eval mode, on the model's device."""
    device, size = next(model.parameters()).device, config.eval_batch_size
    batches = (
        (images[i : i + size].to(device), labels[i : i + size].to(device))
        for i in range(0, len(labels), size)
    )
    loss_sum, correct, n = evaluation_sums(model, batches, plan)
    return loss_sum / max(1, n), 100.0 * correct / max(1, n)


@torch.no_grad()
def evaluation_sums(
    model: nn.Module, batches: Iterable[tuple[Tensor, Tensor]], plan: ExecutionPlan
) -> tuple[float, int, int]:
    """(summed cross-entropy, correct, count) over (images, labels) batches, in eval mode."""
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    for images, y in batches:
        with plan.autocast():
            logits = model(plan.prepare_input(images))
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        n += len(y)
    return loss_sum, correct, n

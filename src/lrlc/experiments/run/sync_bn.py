"""BatchNorm over the whole global batch of a distributed run, on any device (`--sync-bn`).

torch's `nn.SyncBatchNorm` runs only on GPUs; this run's processes may train on CPUs (gloo).
`GlobalBatchNorm` computes the batch mean and variance from sums over every process's shard
(`sum_over_processes`, whose backward sums the gradients over the processes too), so
its output, gradients and running statistics are those of one BatchNorm over the global
batch. CUDA runs use torch's fused `nn.SyncBatchNorm`; both keep BatchNorm's parameters and
buffers, so checkpoints load into a plain BatchNorm and back.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


class _SumOverProcesses(torch.autograd.Function):
    """y = sum of x over the processes; each process's x gets the sum of the processes'
    gradients of y (every process's loss depends on every x through y)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        total = grad.clone()
        dist.all_reduce(total)
        return total


def sum_over_processes(x: Tensor) -> Tensor:
    return _SumOverProcesses.apply(x)


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics span the batches of all processes."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected an input (N, C, ...), got {x.dim()}D")

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return super().forward(x)  # running statistics: nothing to share
        # Statistics in float32 at least (a bf16 count or sum of a large batch is inexact).
        xf = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
        dims = [0, *range(2, x.dim())]
        count = torch.tensor([x.numel() / x.size(1)], dtype=xf.dtype, device=x.device)
        sums = sum_over_processes(torch.cat([xf.sum(dims), count]))
        n = sums[-1]
        mean = sums[:-1] / n
        centred = xf - _per_channel(mean, x)
        # Two passes (mean, then squared deviations), as precise as one process's BatchNorm.
        var = sum_over_processes(centred.square().sum(dims)) / n
        self._update_running(mean.detach(), var.detach(), float(n.item()))
        y = centred * _per_channel(torch.rsqrt(var + self.eps), x)
        if self.affine:
            y = y * _per_channel(self.weight, x) + _per_channel(self.bias, x)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running(self, mean: Tensor, var: Tensor, n: float) -> None:
        if not self.track_running_stats or self.running_mean is None:
            return
        self.num_batches_tracked.add_(1)
        factor = self.momentum
        if factor is None:  # a cumulative average, as BatchNorm does with momentum=None
            factor = 1.0 / float(self.num_batches_tracked)
        unbiased = var * (n / max(n - 1.0, 1.0))
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)


def _per_channel(values: Tensor, like: Tensor) -> Tensor:
    return values.reshape(1, -1, *([1] * (like.dim() - 2)))


def convert_global_batchnorm(module: nn.Module) -> nn.Module:
    """`module` with each BatchNorm replaced by a `GlobalBatchNorm` sharing its parameters and
    buffers (an optimizer built on `module` stays valid)."""
    if isinstance(module, _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        converted = GlobalBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats,
        )  # fmt: skip
        # The same Parameter and buffer objects, not copies.
        converted.weight, converted.bias = module.weight, module.bias
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            setattr(converted, name, getattr(module, name))
        converted.train(module.training)
        return converted
    for name, child in module.named_children():
        setattr(module, name, convert_global_batchnorm(child))
    return module


# By the device type a run trains on: torch's fused kernels where they exist.
SYNC_BATCHNORM = {"cuda": nn.SyncBatchNorm.convert_sync_batchnorm}


def convert_sync_batchnorm(module: nn.Module, device_type: str) -> nn.Module:
    """`module` with BatchNorm over the global batch, for a run on `device_type`."""
    return SYNC_BATCHNORM.get(device_type, convert_global_batchnorm)(module)

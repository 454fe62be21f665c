"""Global average pooling whose gradient keeps its input's memory layout.

`nn.AdaptiveAvgPool2d(1)`'s backward hands the layer before it a gradient in NCHW order
whatever the input's layout. In a channels_last network the ReLU before the pooling then
combines an NCHW gradient with its channels_last output, which torch does element by element
across strides: 48 ms against 2.2 for (512, 64, 22, 22) bf16 with both channels_last (AMD
EPYC Zen 4, 2 threads). The paper's conv net's training step at batch 512: 0.884 of it in
bf16 + channels_last, 0.975 in float32 + channels_last (the LRLC net's 0.917 / 0.946;
`docs/benchmarks/ab-session23/ab_pool.py`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..functional._ops import exporting, memory_format_of


class _SpatialMean(torch.autograd.Function):
    """(N, C, H, W) -> (N, C, 1, 1), the mean over H and W; the gradient dense in x's layout."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.shape, ctx.fmt = x.shape, memory_format_of(x)
        return x.mean((2, 3), keepdim=True)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        n, c, h, w = ctx.shape
        return (grad / (h * w)).expand(n, c, h, w).contiguous(memory_format=ctx.fmt)


class GlobalAvgPool2d(nn.AdaptiveAvgPool2d):
    """`nn.AdaptiveAvgPool2d(1)` (the same outputs and gradients; an instance of it for code
    that asks) whose input gradient is dense in the input's memory format: channels_last
    for a channels_last input. Input (N, C, H, W), output (N, C, 1, 1)."""

    def __init__(self) -> None:
        super().__init__(1)

    def forward(self, x: Tensor) -> Tensor:
        # The plain op for NCHW inputs (whose gradient it makes NCHW already), where no
        # gradient is recorded, and for export (ONNX, torch.export).
        records = torch.is_grad_enabled() and x.requires_grad
        if x.dim() != 4 or not records or exporting():
            return super().forward(x)
        if memory_format_of(x) != torch.channels_last:
            return super().forward(x)
        return _SpatialMean.apply(x)

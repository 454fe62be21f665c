"""Adding a bias map to a batch of images, with a backward that sums over the batch in the
gradient's own memory order.

The spatial bias of Eq. 5 (and a locally connected layer's bias) is a (C, H, W) map added to
every image of an (N, C, H, W) batch, so its gradient is dL/dy summed over N. Autograd's
broadcast backward (`sum_to_size`) makes that sum 30x slower when dL/dy is channels_last,
which it is whenever the layer's output is (the kernel path writes NHWC; a channels_last
model): 155-209 ms against 6 ms for (256, 64, 22, 22) on one thread (Intel Xeon, float32 and
bf16 alike), more than the layer's own products at that size. Summed as the (N, H*W*C)
matrix it is in memory, it takes the 6 ms.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._ops import memory_format_of


def add_bias_map(out: Tensor, bias: Tensor) -> Tensor:
    """out (N, C, H, W) + bias, with bias (C, H, W) or any shape that broadcasts to out's
    last three dimensions, cast to out's dtype. The same values and gradients as
    ``out + bias.to(out.dtype)``."""
    if not (torch.is_grad_enabled() and bias.requires_grad):
        return out + bias.to(out.dtype)
    return _AddBiasMap.apply(out, bias)


def batch_sum_to(grad: Tensor, shape: torch.Size | tuple[int, ...]) -> Tensor:
    """grad (N, C, H, W) summed to `shape` (trailing, broadcast dimensions summed), reading
    a channels_last grad as the dense (N, H, W, C) array it is."""
    full = (1,) * (grad.dim() - len(shape)) + tuple(shape)
    nhwc = grad.dim() == 4 and memory_format_of(grad) == torch.channels_last
    if nhwc and full[1:] == tuple(grad.shape[1:]):
        n, c, h, w = grad.shape
        total = grad.permute(0, 2, 3, 1).reshape(n, h * w * c).sum(0)
        return total.view(h, w, c).permute(2, 0, 1).reshape(shape)
    return grad.sum_to_size(full).reshape(shape)


class _AddBiasMap(torch.autograd.Function):
    @staticmethod
    def forward(ctx, out: Tensor, bias: Tensor) -> Tensor:
        ctx.bias_shape, ctx.bias_dtype = bias.shape, bias.dtype
        return out + bias.to(out.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        d_bias = None
        if ctx.needs_input_grad[1]:
            d_bias = batch_sum_to(grad, ctx.bias_shape).to(ctx.bias_dtype)
        return grad, d_bias

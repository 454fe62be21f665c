"""dL/dx's layout for the kernel path's backward passes (`_rows_backward`'s row loop and
`_backward_program`'s one call): what they are asked for, d(xp) cropped into dL/dx, and an
input row seen as the outputs of its strided positions' products."""

from __future__ import annotations

import torch
from torch import Tensor

from ._native.layout import transposed_copy, transposes
from ._ops import Padding4, Pair

# dL/dx's (padding, the input's (H, W), its memory format), or None where it is not asked for
InputGrad = tuple[Padding4, Pair, torch.memory_format] | None


def scatter_view(row: Tensor, w_out: int, n: int, cols: int, sw: int) -> Tensor:
    """row (N, Wp, C), (W, C) dense, as (W_out, N, kw * C): position j's block of input
    columns j * sw .. j * sw + kw - 1."""
    c = row.stride(1)
    return row.as_strided((w_out, n, cols), (sw * c, row.stride(0), 1), row.storage_offset())


def unpad_grad(
    dxp: Tensor, pad: Padding4, size: Pair, memory_format: torch.memory_format
) -> Tensor:
    """d(xp) (N, Hp, Wp, C) -> dL/dx (N, C, H, W), dense in `memory_format` (the input's,
    so that the layers before read it as they wrote x)."""
    left, _, top, _ = pad
    h, w = size
    dx = dxp[:, top : top + h, left : left + w]  # (N, H, W, C)
    if memory_format == torch.channels_last:
        return dx.contiguous().permute(0, 3, 1, 2)
    # One pass through the compiled transposes (`transposed_copy`) where they run; else
    # through dense NHWC copies of a few images at a time: one strided copy from d(xp)'s order
    # straight to NCHW gathers every element from far apart and took 1.8x (float32) to 4x
    # (bf16) the two copies' time (N = 256, 64 channels, 24 x 24: 147 against 82 ms, 93
    # against 23); in chunks, the NHWC copy adds an eighth of dx to the peak, not all of it.
    n = dx.shape[0]
    out = dx.new_empty((n, dx.shape[3], h, w))
    if transposes(out.permute(0, 2, 3, 1), dx):
        transposed_copy(out.permute(0, 2, 3, 1), dx)
        return out
    step = -(-n // 8)
    for s in range(0, n, step):
        out[s : s + step] = dx[s : s + step].contiguous().permute(0, 3, 1, 2)
    return out

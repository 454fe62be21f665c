"""Which engine runs the locally connected product on which kind of device.

The row engines of `_rows.py` (`locally_connected_by_rows`, `lrlc_by_kernels`) are built for
CPUs: they read the input in place, row by row, in products sized for a core's caches. On a
GPU the same loop is thousands of small kernel launches, 15-26x a convolution's training step
on an NVIDIA H200 at any batch (docs/performance.md, session 15), where one batched matmul
over all positions (`locally_connected_by_patches`) or one per kernel tap
(`locally_connected_by_taps`) costs 3-15 convolutions' worth. Devices named in
`DEVICE_ENGINES` take such a plain-op form, with autograd's backward; the rest (CPUs) the row
engines, which stay far ahead there: `LocallyConnected2d` inference on a Zen 4 (2 threads,
64 -> 64, 3x3, 24x24) took 1.7x a convolution by rows, 8.7-9.1x by patches, 4.0-10x by taps.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._ops import Padding4, Pair, locally_connected_by_patches, locally_connected_by_taps

# (x, weight, bias, stride, padding, dilation) -> output, as `locally_connected_by_taps`.
PlainEngine = Callable[[Tensor, Tensor, "Tensor | None", Pair, Padding4, Pair], Tensor]

# Patches up to this size, taps beyond: on an H200 the patches were the faster at batch 128
# (3.0-4.1x a convolution's step against 6.0-7.7x), the taps at batch 512 (8.6-13x against
# 11-15x), with half the patches' memory (64 -> 64 channels, 3x3, 24x24; their copy of the
# input 143 and 571 MiB in float32).
PATCH_BYTES_LIMIT = 256 * 2**20


def locally_connected_by_patches_or_taps(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair, padding: Padding4, dilation: Pair
) -> Tensor:
    """`locally_connected_by_patches` where its copy of the input (N * C_in * kh * kw *
    H_out * W_out elements) fits in `PATCH_BYTES_LIMIT`, else `locally_connected_by_taps`."""
    h, w, _, c_in, kh, kw = weight.shape
    patch_bytes = x.shape[0] * c_in * kh * kw * h * w * x.element_size()
    by_patches = patch_bytes <= PATCH_BYTES_LIMIT
    engine = locally_connected_by_patches if by_patches else locally_connected_by_taps
    return engine(x, weight, bias, stride, padding, dilation)


DEVICE_ENGINES: dict[str, PlainEngine] = {"cuda": locally_connected_by_patches_or_taps}


def plain_engine(device: torch.device | str) -> PlainEngine | None:
    """The plain-op engine for `device`'s kind, or None where the row engines run (CPUs)."""
    return DEVICE_ENGINES.get(torch.device(device).type)


__all__ = [
    "DEVICE_ENGINES",
    "PATCH_BYTES_LIMIT",
    "PlainEngine",
    "locally_connected_by_patches_or_taps",
    "plain_engine",
]

"""Right operands and outputs packed in panels of the compiled kernel's tile width (`lc_bmm.c`'s
b_ct / c_ct): each tile's columns of all K rows one contiguous block, which the kernel then
streams instead of K rows far apart (the bases at K = 32: more streams than the CPU's
prefetchers follow; docs/performance.md, session 21)."""

from __future__ import annotations

import torch
from torch import Tensor

from . import ISAS, _active


def panel_width() -> int:
    """The width of the panels `pack_panels` cuts a right operand into for the compiled
    kernel (its tile's columns: 64 with AVX-512, 16 with AVX2), or 0 where it does not run."""
    _, isa = _active()
    return ISAS[isa][2] if isa is not None else 0


def pack_panels(b: Tensor, width: int) -> Tensor:
    """b (..., K, C) -> (..., ceil(C / width), K, width), zero-padded: each tile's columns
    of all K rows one contiguous block, the `packed` operand of `row_bmm` / `row_mm`."""
    k, c = b.shape[-2:]
    tiles = -(-c // width)
    if c % width:
        padded = b.new_zeros((*b.shape[:-1], tiles * width))
        padded[..., :c] = b
        b = padded
    # one copy where the columns fill whole panels (64 channels: always)
    return b.unflatten(-1, (tiles, width)).transpose(-3, -2).contiguous()


def _packed_strides(
    shape: tuple[int, ...], packed: Tensor | None, isa: str
) -> tuple[int, int, int] | None:
    """(b_p, b_k, b_ct) of `packed`, an operand of `shape` (..., K, C) in panels of the
    kernel's width, where it is one (else None: the caller reads the plain operand)."""
    if packed is None:
        return None
    width = ISAS[isa][2]
    k, c = shape[-2:]
    got = packed.shape
    if got[:-3] != tuple(shape[:-2]) or got[-2:] != (k, width) or got[-3] * width < c:
        return None
    if packed.dtype is not torch.float32 or packed.stride(-1) != 1:
        return None
    if k > 1 and packed.stride(-2) != width:  # a single row's stride is moot
        return None
    return (packed.stride(0) if packed.dim() == 4 else 0), width, packed.stride(-3)

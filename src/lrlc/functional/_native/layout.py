"""Layout copies through the compiled transposes of `lc_layout.c`: `transposed_copy(dst, src)`
is `dst.copy_(src)` for two tensors whose last two dimensions lie transposed in memory (an
NCHW <-> NHWC copy seen as a batch of (C, H*W) <-> (H*W, C) matrices). torch's strided copy
ran these at a quarter of a plain copy's rate (128 x 64 x 24 x 24 float32: 2.0-3.0 ms against
0.73 in cache); from memory, as in a training step, 4.0-4.3 ms against 2.7-3.4 here (AMD EPYC
Zen 4, 2 threads). Where the kernel does not run, torch's copy is what runs."""

from __future__ import annotations

import array

import torch
from torch import Tensor

from . import ISAS, _active

copies = 0  # copies the compiled transposes have made in this process (tests); not counted
# in `_native.calls`, the products'


def _operands(dst: Tensor, src: Tensor) -> tuple[Tensor, Tensor] | None:
    """(dst, src) as 4-D views with src's last dimension and dst's second last contiguous, or
    None where the copy is not such a transpose of float32 CPU tensors."""
    if dst.shape != src.shape or not 2 <= dst.dim() <= 4 or dst.numel() == 0:
        return None
    if not (dst.dtype is src.dtype is torch.float32):
        return None
    if dst.device.type != "cpu" or src.device.type != "cpu":
        return None
    if torch.is_grad_enabled() and (dst.requires_grad or src.requires_grad):
        return None
    while dst.dim() < 4:
        dst, src = dst.unsqueeze(0), src.unsqueeze(0)
    if src.stride(2) == 1 and dst.stride(3) == 1 and src.stride(3) != 1:
        dst, src = dst.transpose(2, 3), src.transpose(2, 3)
    if src.stride(3) != 1 or dst.stride(2) != 1:
        return None
    return dst, src


def transposes(dst: Tensor, src: Tensor) -> bool:
    """Whether `transposed_copy(dst, src)` would run the compiled transposes."""
    return _active()[1] is not None and _operands(dst, src) is not None


def transposed_copy(dst: Tensor, src: Tensor) -> Tensor:
    """dst.copy_(src), 2-4 dimensions of one shape, through the compiled transposes where one
    of the two has its last dimension contiguous and the other its second last (float32,
    CPU, not recorded by autograd; dst must not overlap itself or src). Returns dst."""
    lib, isa = _active()
    ops = None if isa is None else _operands(dst, src)
    if ops is not None:
        d, s = ops
        n0, n1, rows, cols = s.shape
        args = array.array("q", (
            ISAS[isa][0], torch.get_num_threads(), n0, n1, rows, cols,
            s.data_ptr(), s.stride(0), s.stride(1), s.stride(2),
            d.data_ptr(), d.stride(0), d.stride(1), d.stride(3),
        ))  # fmt: skip
        if lib.lrlc_transpose_f32(args.buffer_info()[0]) == 0:
            global copies
            copies += 1
            return dst
    return dst.copy_(src)


def contiguous_nchw(x: Tensor) -> Tensor:
    """x (N, C, H, W) as a dense NCHW tensor: x itself where it is one, else a copy (through
    `transposed_copy` where x is channels_last)."""
    if x.is_contiguous():
        return x
    n, c, h, w = x.shape
    out = x.new_empty((n, c, h, w))
    if x.is_contiguous(memory_format=torch.channels_last):
        transposed_copy(out.view(n, c, h * w), x.reshape(n, c, h * w))  # a view
        return out
    return out.copy_(x)

"""dw's products as dot products (`lc_dots.c`): out (M, K) (+)= a (M, X) @ F^T for the bases F
(K, X) packed in the compiled kernel's panels, (X / width, K, width) (`pack_panels`), the
layout dF is accumulated in. At small K, where `row_bmm`'s tiles pad K to a vector and take
one broadcast a row, this took a row's dw from about 50 to 16-45 us at K = 1-10 (66 rows in
1.05-2.97 ms against 3.2-3.5; AMD EPYC Zen 4, `docs/benchmarks/ab-session22/`)."""

from __future__ import annotations

import array

import torch
from torch import Tensor

from . import ISAS, _active, _ran
from .panels import _packed_strides


def dots_operands_ok(a: Tensor, panels: Tensor, out: Tensor, isa: str | None) -> bool:
    """Whether the kernel takes a (M, X) with contiguous rows, panels (the bases (K, X) in
    `pack_panels`' layout for `isa`) and out (M, K), all float32 on the CPU, X a multiple of
    the vector width, and not recorded by autograd (as `row_bmm`'s operands)."""
    if isa is None or a.dim() != 2 or out.dim() != 2:
        return False
    if torch.is_grad_enabled() and (a.requires_grad or panels.requires_grad):
        return False
    (m, x), k = a.shape, panels.shape[-2] if panels.dim() == 3 else -1
    if out.shape != (m, k) or x % ISAS[isa][1] or a.stride(1) != 1:
        return False
    if _packed_strides((k, x), panels, isa) is None:
        return False
    return all(t.dtype is torch.float32 and t.device.type == "cpu" for t in (a, panels, out))


def row_dots(a: Tensor, panels: Tensor, out: Tensor, accumulate: bool = False) -> Tensor:
    """out (M, K) = a (M, X) @ F^T (accumulate: +=), F (K, X) given as its panels (`pack_panels`
    (F, panel_width())); out may have any strides (dw's rows are written into the weights'
    gradient, transposed). Through the compiled kernel where `dots_operands_ok`, else torch's
    product on F unpacked. Returns out."""
    lib, isa = _active()
    if dots_operands_ok(a, panels, out, isa):
        (m, x), k = a.shape, panels.shape[1]
        args = array.array("q", (
            ISAS[isa][0], torch.get_num_threads(), m, x, k, a.data_ptr(), a.stride(0),
            panels.data_ptr(), panels.stride(0), out.data_ptr(), out.stride(0), out.stride(1),
            int(accumulate),
        ))  # fmt: skip
        if lib.lrlc_dots_f32_packed(args.buffer_info()[0]) == 0:
            _ran()
            return out
    k, x = panels.shape[1], a.shape[1]
    f = panels.transpose(0, 1).reshape(k, -1)[:, :x]
    product = a @ f.t()
    return out.add_(product) if accumulate else out.copy_(product)

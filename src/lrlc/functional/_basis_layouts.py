"""The bases of a fixed-weight LRLC layer re-laid out for the kernel path, each step, through
the compiled transposes of `_native.layout` where they run.

The bases (K, C_out, C_in, kh, kw) keep a convolution weight's order (kh * kw innermost; for
a channels_last layer, C_in innermost), while the kernels read channels innermost: each
layout is a transpose of the taps against a channel dimension, or a copy of whole runs of
channels. Through torch's permuted copies (and the `flat` / `flat_t` copies made on the way)
they took about 5.3 ms of a training step at K = 32 (4.7 MB each), through these about 2.3
(AMD EPYC Zen 4, 2 threads, N = 128, channels_last; `docs/benchmarks/ab-session23/`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._native.layout import transposed_copy


def taps_inner(bases: Tensor) -> Tensor:
    """(K, C_out, C_in, kh, kw) -> (K, C_out, kh, kw, C_in), contiguous: each tap's input
    channels contiguous. A view of channels_last bases (a channels_last layer's: they are
    stored so); else one transpose of (C_in, kh * kw) per (k, o)."""
    k, c_out, c_in, kh, kw = bases.shape
    view = bases.permute(0, 1, 3, 4, 2)
    if view.is_contiguous():
        return view
    out = bases.new_empty((k, c_out, kh, kw, c_in))
    src = bases.reshape(k * c_out, c_in, kh * kw).transpose(1, 2)
    transposed_copy(out.view(k * c_out, kh * kw, c_in), src)
    return out


def dw_operand(bases: Tensor, padded: int, dtype: torch.dtype) -> Tensor:
    """dw's right operand (`_basis_dw.DwProducts.dense`): (kh, X, padded) in `dtype`, row x =
    (o, b, c) of kernel row a holding F^k[o, c, a, b] in its first K columns, zero after."""
    k, c_out, c_in, kh, kw = bases.shape
    t = taps_inner(bases.to(dtype))  # (k, o, a, b, c)
    dense = t.new_empty((kh, c_out * kw * c_in, padded))
    dense[..., k:] = 0
    # one (K, kw * C_in) -> (kw * C_in, K) transpose per (a, o)
    src = t.permute(2, 1, 0, 3, 4).reshape(kh, c_out, k, kw * c_in)  # a view
    dst = dense.view(kh, c_out, kw * c_in, padded)[..., :k].transpose(2, 3)
    transposed_copy(dst, src)
    return dense


def bases_from_panels(panels: Tensor, like: Tensor) -> Tensor:
    """The bases' gradient (K, C_out, C_in, kh, kw), dense in the memory order of the bases
    `like` (channels_last or contiguous: the gradient a layer's parameter takes as it is),
    from dF summed in the compiled kernel's panels by kernel row, (kh, tiles, K, width), X =
    (C_out, kw, C_in) cut into tiles of `width`. Where C_in is whole tiles: one copy with
    C_in's runs contiguous, (K, C_out, kh, kw, C_in), which is the channels_last gradient,
    then for contiguous bases one (kh * kw, C_in) transpose per (k, o); else one permuted
    copy."""
    k, c_out, c_in, kh, kw = shape = like.shape
    width = panels.shape[-1]
    if c_in % width:
        d = panels.permute(2, 0, 1, 3).reshape(k, kh, -1)[:, :, : c_out * kw * c_in]
        return d.unflatten(2, (c_out, kw, c_in)).permute(0, 2, 4, 1, 3).contiguous()
    blocks = panels.view(kh, c_out, kw, c_in // width, k, width)
    t = blocks.permute(4, 1, 0, 2, 3, 5).contiguous().view(k, c_out, kh, kw, c_in)
    if like.permute(0, 1, 3, 4, 2).is_contiguous():  # channels_last bases
        return t.permute(0, 1, 4, 2, 3)
    out = panels.new_empty(tuple(shape))
    src = t.view(k * c_out, kh * kw, c_in)
    transposed_copy(out.view(k * c_out, c_in, kh * kw).transpose(1, 2), src)
    return out


def forward_panels(bases: Tensor, width: int) -> Tensor | None:
    """The forward's builds' operand: `flat` (K, kh, kw * C_in * C_out) by kernel row in the
    compiled kernel's panels, (kh, kw * C_in, K, width), made from the bases by one (C_out,
    C_in) transpose per (k, a, b) where C_out is one panel (64 channels with AVX-512, 16 with
    AVX2), without `flat`; else None (then `pack_panels` of `flat`)."""
    k, c_out, c_in, kh, kw = bases.shape
    if c_out != width or bases.dtype is not torch.float32:
        return None
    t = taps_inner(bases).view(k, c_out, kh * kw, c_in)  # (k, o, (a, b), c)
    out = bases.new_empty((kh, kw * c_in, k, width))
    # out[a, b * C_in + c, k, o] = t[k, o, (a, b), c]: (k, (a, b)) batches of (o, c) -> (c, o)
    dst = out.view(kh * kw, c_in, k, width).permute(2, 0, 3, 1)
    transposed_copy(dst, t.permute(0, 2, 1, 3))
    return out


def tap_panels(bases: Tensor, width: int) -> Tensor | None:
    """The placed filters' operand: the bases by kernel row and tap, (kh, kw, C_out * C_in /
    width, K, width), each tap's (C_out, C_in) filters of all K in the kernel's panels. One
    copy of runs of `width` input channels from `taps_inner` (a view for channels_last
    bases) where C_in is whole panels; else None (then `pack_panels` of `flat_t`)."""
    k, c_out, c_in, kh, kw = bases.shape
    if c_in % width or bases.dtype is not torch.float32:
        return None
    t = taps_inner(bases).view(k, c_out, kh, kw, c_in // width, width)
    blocks = t.permute(2, 3, 1, 4, 0, 5).contiguous()  # (a, b, o, c_hi, k, c_lo)
    return blocks.view(kh, kw, c_out * c_in // width, k, width)

"""Direct, naive float64 computations of the paper's equations: loops over output positions.

Nothing here calls the library's layers; only the accessors' outputs (basis filters, weights,
bias maps) are fed in, so a wrong combine step, wrong padding or wrong bias shows up. The
per-position filters are Eq. 2 from `lrlc.functional.per_position_filters` (itself checked
against an explicit loop in test_functional.py); the products with the input are naive loops.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lrlc.functional import per_position_filters


def patch(xp: Tensor, i: int, j: int, kernel: tuple[int, int], stride, dilation) -> Tensor:
    """The receptive field of output (i, j) in the padded input: (N, C, kh, kw)."""
    r0, c0 = i * stride[0], j * stride[1]
    rows = torch.arange(kernel[0]) * dilation[0] + r0
    cols = torch.arange(kernel[1]) * dilation[1] + c0
    return xp[:, :, rows][:, :, :, cols]


def naive_local(x: Tensor, filters_at, bias: Tensor | None, out_size, stride, padding4, dilation):
    """y[n, :, i, j] = sum_{c,a,b} filters_at(i, j)[n?, o, c, a, b] * patch + bias[:, i, j].

    `filters_at(i, j)` returns (C_out, C_in, kh, kw) or per-example (N, C_out, C_in, kh, kw).
    """
    xp = F.pad(x, padding4)
    n = x.shape[0]
    h, w = out_size
    y = None
    for i in range(h):
        for j in range(w):
            filt = filters_at(i, j)
            p = patch(xp, i, j, filt.shape[-2:], stride, dilation)
            if filt.dim() == 4:
                val = torch.einsum("ncab,ocab->no", p, filt)
            else:
                val = torch.einsum("ncab,nocab->no", p, filt)
            if y is None:
                y = x.new_zeros(n, val.shape[1], h, w)
            y[:, :, i, j] = val
            if bias is not None:
                y[:, :, i, j] += bias[:, i, j]
    return y


def naive_lrlc(layer, x: Tensor) -> Tensor:
    """The LRLC layer by its definition: at (i, j) apply F^(i,j) = sum_k w[k, i, j] F^k
    (Eq. 2), add B."""
    weights = layer.combining_weights(x if layer.input_dependent else None)
    filters = per_position_filters(weights, layer.basis_filters())
    bias = layer.spatial_bias_map()

    def filters_at(i, j):
        return filters[i, j] if weights.dim() == 3 else filters[:, i, j]

    return naive_local(
        x, filters_at, bias, layer.output_size, layer.stride, layer.padding, layer.dilation
    )


def naive_softmax(logits: Tensor, dim: int) -> Tensor:
    e = torch.exp(logits - logits.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


def naive_l2(logits: Tensor, dim: int) -> Tensor:
    return logits / logits.pow(2).sum(dim=dim, keepdim=True).sqrt()

"""The basis set of an LRLC layer: K filter banks applied as convolutions.

Bases of one geometry (kernel size and dilation) are one convolution with K_g * C_out output
channels (`lrlc.functional.basis_responses`), as in the paper's Algorithm 1 and the authors'
code. A mixed basis set (the paper's section 3.2 and conclusion) runs one convolution per
geometry. Its semantics are fixed by embedding every basis, centred, into one common
dilation-1 kernel and using that kernel's padding, so that the basis set is always a
(K, C_out, C_in, kh, kw) tensor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..functional import basis_responses
from ..functional._checks import int_at_least, positive_pair
from ..functional._ops import (
    Padding4,
    Pair,
    conv_output_size,
    effective_kernel,
    resolve_padding,
)

Geometry = tuple[Pair, Pair]  # (kernel_size, dilation)


def basis_geometries(
    kernel_size: int | Sequence, dilation: int | Sequence, rank: int | None
) -> list[Geometry]:
    """One (kernel_size, dilation) pair per basis, from scalar-or-list arguments."""
    k_list = isinstance(kernel_size, list)
    d_list = isinstance(dilation, list)
    lengths = {len(v) for v, is_list in ((kernel_size, k_list), (dilation, d_list)) if is_list}
    if len(lengths) > 1:
        raise ValueError(
            f"kernel_size and dilation lists must have one entry per basis; got lengths "
            f"{len(kernel_size)} and {len(dilation)}"
        )
    n = lengths.pop() if lengths else None
    if rank is None:
        rank = n if n is not None else 1
    rank = int_at_least(rank, "rank", 1)
    if n is not None and n != rank:
        raise ValueError(f"kernel_size/dilation lists have {n} entries but rank is {rank}")
    ks = _per_basis(kernel_size, "kernel_size", rank)
    ds = _per_basis(dilation, "dilation", rank)
    return list(zip(ks, ds))


def _per_basis(value: int | Sequence, name: str, rank: int) -> list[Pair]:
    """One validated pair per basis from a scalar-or-list argument; a bad list entry is named
    by its index, e.g. kernel_size[1]."""
    if isinstance(value, list):
        return [positive_pair(v, f"{name}[{i}]") for i, v in enumerate(value)]
    return [positive_pair(value, name)] * rank


class BasisSet(nn.Module):
    """K basis filter banks: (N, C_in, H, W) -> responses (N, K, C_out, H_out, W_out)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        geometries: list[Geometry],
        input_size: Pair,
        stride: Pair,
        padding: int | Sequence[int] | str,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.rank = len(geometries)
        self.stride = stride
        groups: list[Geometry] = list(dict.fromkeys(geometries))
        self.mixed = len(groups) > 1
        if self.mixed and not (isinstance(padding, str) and padding.lower() == "same"):
            raise ValueError(
                f"a basis set with mixed kernel sizes or dilations {groups} needs "
                f"padding='same', got padding={padding!r}"
            )
        extents = [effective_kernel(k, d) for k, d in groups]
        if self.mixed:
            self.kernel_size: Pair = (max(e[0] for e in extents), max(e[1] for e in extents))
            self.dilation: Pair = (1, 1)
        else:
            self.kernel_size, self.dilation = groups[0]
        self.padding: Padding4 = resolve_padding(
            padding, input_size, self.kernel_size, stride, self.dilation
        )
        self.output_size = conv_output_size(
            input_size, self.kernel_size, stride, self.padding, self.dilation
        )
        self.groups = groups
        self.members = [[k for k, g in enumerate(geometries) if g == geo] for geo in groups]
        order = [k for members in self.members for k in members]
        # Inverse permutation from grouped order back to basis order; None when the
        # bases of each geometry are already contiguous and in order.
        inverse = sorted(range(self.rank), key=order.__getitem__)
        self.register_buffer(
            "_order",
            None if inverse == list(range(self.rank)) else torch.tensor(inverse),
            persistent=False,
        )
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(len(m) * out_channels, in_channels, *geo[0]))
            for m, geo in zip(self.members, groups)
        )
        self._group_padding = [self._padding_for(e) for e in extents]
        self.reset_parameters()

    def _offset(self, extent: Pair) -> Pair:
        """Where a basis of this extent sits, centred, inside the common kernel."""
        common = effective_kernel(self.kernel_size, self.dilation)
        return tuple((c - 1) // 2 - (e - 1) // 2 for c, e in zip(common, extent))  # type: ignore[return-value]

    def _padding_for(self, extent: Pair) -> Padding4:
        """The common padding seen through a smaller, offset kernel (negative = crop)."""
        oh, ow = self._offset(extent)
        left, right, top, bottom = self.padding
        ch, cw = effective_kernel(self.kernel_size, self.dilation)
        return (
            left - ow,
            right - (cw - ow - extent[1]),
            top - oh,
            bottom - (ch - oh - extent[0]),
        )

    def reset_parameters(self) -> None:
        # He-uniform on fan_in (kaiming_uniform_, a = 0), as the authors' reference code.
        for w in self.weights:
            nn.init.kaiming_uniform_(w, a=0.0)

    def forward(self, x: Tensor) -> Tensor:
        """Responses O^(k) = I conv F^(k): (N, K, C_out, H_out, W_out), one convolution per
        geometry."""
        shape = (-1, self.out_channels, self.in_channels)
        parts = [
            basis_responses(x, w.view(*shape, *geo[0]), self.stride, pad, geo[1])
            for w, pad, geo in zip(self.weights, self._group_padding, self.groups)
        ]
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        if self._order is not None:
            out = out.index_select(1, self._order)
        return out

    def filters(self) -> Tensor:
        """The basis set embedded in the common kernel: (K, C_out, C_in, kh, kw)."""
        w0 = self.weights[0]
        if not self.mixed:
            return w0.view(self.rank, self.out_channels, self.in_channels, *self.kernel_size)
        out = w0.new_zeros(self.rank, self.out_channels, self.in_channels, *self.kernel_size)
        for w, members, (ks, dil) in zip(self.weights, self.members, self.groups):
            w = w.view(len(members), self.out_channels, self.in_channels, *ks)
            oh, ow = self._offset(effective_kernel(ks, dil))
            rows = slice(oh, oh + (ks[0] - 1) * dil[0] + 1, dil[0])
            cols = slice(ow, ow + (ks[1] - 1) * dil[1] + 1, dil[1])
            out[members, :, :, rows, cols] = w
        return out

    def extra_repr(self) -> str:
        return f"rank={self.rank}, groups={self.groups}, fan_in={self._fan_in()}"

    def _fan_in(self) -> list[int]:
        return [self.in_channels * math.prod(k) for k, _ in self.groups]

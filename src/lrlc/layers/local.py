"""Locally connected 2-D layer: a convolution whose filter bank differs at every position.

The product is `lrlc.functional.locally_connected2d` (its autograd form is shared with the
non-stationary layer); without autograd (inference) the module runs the same row products, its
weight stored in their order. An LRLC layer with fixed combining weights converts to this layer
(`LowRankLocallyConnected2d.to_locally_connected`): its weight is Eq. 2 (per-position filter
banks, `lrlc.functional.per_position_filters`) and its bias Eq. 5 (spatial bias,
`lrlc.functional.spatial_bias`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..functional import locally_connected2d
from ..functional._checks import positive_int, positive_pair
from ..functional._engines import plain_engine
from ..functional._kernel_path import locally_connected_inference, weight_by_rows
from ..functional._ops import (
    Pair,
    check_input,
    conv_output_size,
    exporting,
    inference_dtype,
    locally_connected_by_taps,
    resolve_padding,
)


class LocallyConnected2d(nn.Module):
    """Unshared-weight convolution: (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    ``weight`` is (H_out, W_out, C_out, C_in, kh, kw) and ``bias`` (C_out, H_out, W_out):
    y[n, :, i, j] = weight[i, j] * patch(x[n], i, j) + bias[:, i, j], with the patch taken
    exactly where `nn.Conv2d` with the same stride, padding and dilation takes it.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        input_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | str = 0,
        dilation: int | Sequence[int] = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        self.kernel_size: Pair = positive_pair(kernel_size, "kernel_size")
        self.input_size: Pair = positive_pair(input_size, "input_size")
        self.stride: Pair = positive_pair(stride, "stride")
        self.dilation: Pair = positive_pair(dilation, "dilation")
        self._padding_arg = padding
        self.padding = resolve_padding(
            padding, self.input_size, self.kernel_size, self.stride, self.dilation
        )
        self.output_size: Pair = conv_output_size(
            self.input_size, self.kernel_size, self.stride, self.padding, self.dilation
        )
        h, w = self.output_size
        # Stored in the order the row products read, (H_out, W_out, kh, kw, C_in, C_out), and
        # seen in the documented (H_out, W_out, C_out, C_in, kh, kw) order: each row's filters
        # are then a view and its gradient a block copy, instead of two re-layouts of the whole
        # weight (the layer's largest tensor) in every training step.
        rows = torch.empty(h, w, *self.kernel_size, self.in_channels, self.out_channels)
        self.weight = nn.Parameter(rows.permute(0, 1, 5, 4, 2, 3))
        self.bias = nn.Parameter(torch.empty(self.out_channels, h, w)) if bias else None
        self._rows_cache: tuple | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # He-uniform on each position's fan_in, as the basis filters of the LRLC layer.
        fan_in = self.in_channels * math.prod(self.kernel_size)
        bound = math.sqrt(6.0 / fan_in)
        # Drawn in the documented order, so that a seed gives the same weight in any layout.
        w = self.weight
        drawn = torch.empty(w.shape, dtype=w.dtype, device=w.device).uniform_(-bound, bound)
        with torch.no_grad():
            w.copy_(drawn)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels, self.input_size, type(self).__name__)
        # Exported: a compact graph instead of the row engines' unrolled loops; on a GPU, a few
        # batched products instead of their thousands of small ones (`plain_engine`).
        engine = locally_connected_by_taps if exporting() else plain_engine(x.device)
        if engine is not None:
            return engine(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
        if torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad):
            return locally_connected2d(
                x, self.weight, self.bias, self.stride, self.padding, self.dilation
            )
        return locally_connected_inference(
            x, self._rows(x), self.bias, self.stride, self.padding, self.dilation
        )

    def _rows(self, x: Tensor) -> torch.Tensor:
        # Stored in the rows' order, the weight is its own row layout (a view); a weight
        # loaded contiguous, or cast under autocast, needs a copy that costs as much as a
        # forward pass, so it is kept until the weight changes (its version counter moves on
        # any in-place update).
        dtype = inference_dtype(x, self.weight.dtype)  # under autocast as the autograd path
        key = (self.weight._version, self.weight.data_ptr(), dtype)
        if self._rows_cache is None or self._rows_cache[0] != key:
            self._rows_cache = (key, weight_by_rows(self.weight.detach().to(dtype)))
        return self._rows_cache[1]

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"input_size={self.input_size}, stride={self.stride}"
        )
        if self._padding_arg != 0:
            s += f", padding={self._padding_arg!r}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        return s + f", bias={self.bias is not None}"

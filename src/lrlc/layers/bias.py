"""The spatially varying bias of the LRLC paper as a module of its own.

Eq. 5 (spatial bias) is computed in `lrlc.functional.spatial_bias`; this module holds b_row
and b_col (no channel term) and adds them after a convolution for the paper's
"convolution + spatial bias" baseline, which equals an LRLC layer of rank 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..functional import add_bias_map, spatial_bias
from ..functional._checks import positive_pair
from ..functional._ops import Pair


class SpatialBias(nn.Module):
    """Adds b_row[i] + b_col[j] to every channel: (N, C, H, W) -> (N, C, H, W)."""

    def __init__(self, size: int | Sequence[int], row: bool = True, column: bool = True) -> None:
        super().__init__()
        self.size: Pair = positive_pair(size, "size")
        self.bias_row = nn.Parameter(torch.empty(self.size[0])) if row else None
        self.bias_col = nn.Parameter(torch.empty(self.size[1])) if column else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in (self.bias_row, self.bias_col):
            if p is not None:
                nn.init.zeros_(p)

    def bias_map(self) -> Tensor:
        """(1, H, W): the bias shared by all channels, Eq. 5 without b_channel."""
        like = self.bias_row if self.bias_row is not None else self.bias_col
        return spatial_bias(1, self.size, self.bias_row, self.bias_col, None, like=like)

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[-2:]) != self.size:
            raise ValueError(
                f"SpatialBias was built for size {self.size}, got {tuple(x.shape[-2:])}"
            )
        if self.bias_row is None and self.bias_col is None:
            return x
        return add_bias_map(x, self.bias_map())

    def extra_repr(self) -> str:
        return (
            f"size={self.size}, row={self.bias_row is not None}, column={self.bias_col is not None}"
        )

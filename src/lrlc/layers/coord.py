"""CoordConv: a convolution that also sees the pixel coordinates.

Paper: Liu et al., "An intriguing failing of convolutional neural networks and the CoordConv
solution", NeurIPS 2018. As in the LRLC paper's baseline, two channels are appended: the row
coordinate and the column coordinate, each linspace(-1, 1) over its own axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..functional._checks import non_negative_pair, positive_int, positive_pair


def coordinate_channels(x: Tensor) -> Tensor:
    """Row and column coordinates in [-1, 1] for the grid of `x`: (N, 2, H, W)."""
    n, _, h, w = x.shape
    rows = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)
    cols = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype)
    grid = torch.stack(torch.meshgrid(rows, cols, indexing="ij"))
    return grid.unsqueeze(0).expand(n, -1, -1, -1)


def _check_conv_geometry(kernel_size: Any, conv_kwargs: dict[str, Any]) -> None:
    """Validate the `nn.Conv2d` sizes that it would accept and fail on later.

    Padding strings ("same", "valid") are left to `nn.Conv2d`, which checks them itself, as it
    does groups and padding_mode.
    """
    positive_pair(kernel_size, "kernel_size")
    for name in ("stride", "dilation"):
        if name in conv_kwargs:
            positive_pair(conv_kwargs[name], name)
    padding = conv_kwargs.get("padding", 0)
    if not isinstance(padding, str):
        non_negative_pair(padding, "padding")


class CoordConv2d(nn.Module):
    """`nn.Conv2d` over the input with two coordinate channels appended:
    (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        **conv_kwargs: Any,
    ) -> None:
        super().__init__()
        # nn.Conv2d sees in_channels + 2, so a bad in_channels would build a conv of other
        # width instead of failing; it also accepts a zero kernel or stride until forward.
        self.in_channels = positive_int(in_channels, "in_channels")
        positive_int(out_channels, "out_channels")
        _check_conv_geometry(kernel_size, conv_kwargs)
        self.conv = nn.Conv2d(self.in_channels + 2, out_channels, kernel_size, **conv_kwargs)

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"CoordConv2d expects input (N, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        coords = coordinate_channels(x).to(memory_format=torch.contiguous_format)
        if x.is_contiguous(memory_format=torch.channels_last):
            coords = coords.contiguous(memory_format=torch.channels_last)
        return self.conv(torch.cat([x, coords], dim=1))

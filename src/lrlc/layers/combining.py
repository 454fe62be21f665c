"""Combining logits of the LRLC layer, one small module per mode.

Each module maps nothing (fixed modes) or the layer input (input-dependent mode) to the
*unnormalised* combining logits ``w~`` of the paper; the layer normalises them over the basis
axis (Eq. 4, `lrlc.functional.normalize_combining`). Fixed modes return (K, H_out, W_out);
the input-dependent mode returns (N, K, H_out, W_out).

- "factorized": Eq. 3 (factorised combining weights), computed in
  `lrlc.functional.factorized_logits`
- "row", "column": Eq. 3 with one term, `lrlc.functional.row_logits` / `column_logits`
- "full": free logits, one per basis and position (no formula: the parameter itself)
- "input_dependent": Eq. 6, w~ = g(I), the network g of supplementary B (this module)

Paper: Elsayed et al., "Revisiting Spatial Invariance with Low-Rank Local Connectivity",
ICML 2020, sections 3.2.1-3.2.2 and supplementary B.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..functional import column_logits, factorized_logits, row_logits
from ..functional._checks import int_at_least, positive_int, positive_pair
from ..functional._ops import Pair

COMBINING_MODES = ("factorized", "full", "row", "column", "input_dependent")
INITS = ("conv", "random")


def _check_init(init: str) -> None:
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")


def _init_logits(params: list[Tensor], rank: int, init: str) -> None:
    """Constant c / sqrt(K) (an exact convolution after normalisation) or random logits.

    c = 1/2 when a row and a column term are summed (so alpha + beta = 1/sqrt(K)), else 1:
    the values of the authors' reference code.
    """
    if init == "conv":
        c = 1.0 / len(params)
        for p in params:
            nn.init.constant_(p, c / math.sqrt(rank))
    else:
        # Supp. Fig. 1's "unstructured" initialisation; the scale keeps the sum of the
        # row and column terms at unit variance.
        for p in params:
            nn.init.normal_(p, std=1.0 / math.sqrt(len(params)))


class FixedLogits(nn.Module):
    """Base class of the fixed (input-independent) modes."""

    input_dependent = False

    def __init__(self, rank: int, output_size: Pair, init: str = "conv") -> None:
        super().__init__()
        _check_init(init)
        self.rank = int_at_least(rank, "rank", 1)
        self.output_size = positive_pair(output_size, "output_size")
        self.init = init

    def reset_parameters(self) -> None:
        _init_logits(list(self.parameters()), self.rank, self.init)

    def extra_repr(self) -> str:
        return f"rank={self.rank}, output_size={self.output_size}, init={self.init!r}"


class FactorizedLogits(FixedLogits):
    """w~[k, i, j] = alpha[k, i] + beta[k, j] (the paper's Eq. 3): (K, H, W)."""

    def __init__(self, rank: int, output_size: Pair, init: str = "conv") -> None:
        super().__init__(rank, output_size, init)
        self.alpha = nn.Parameter(torch.empty(self.rank, self.output_size[0]))
        self.beta = nn.Parameter(torch.empty(self.rank, self.output_size[1]))
        self.reset_parameters()

    def forward(self, x: Tensor | None = None) -> Tensor:
        return factorized_logits(self.alpha, self.beta)


class FullLogits(FixedLogits):
    """One free logit per basis and position, K * H * W parameters, without Eq. 3's
    factorisation: (K, H, W)."""

    def __init__(self, rank: int, output_size: Pair, init: str = "conv") -> None:
        super().__init__(rank, output_size, init)
        self.logits = nn.Parameter(torch.empty(self.rank, *self.output_size))
        self.reset_parameters()

    def forward(self, x: Tensor | None = None) -> Tensor:
        return self.logits


class RowLogits(FixedLogits):
    """w~[k, i, j] = alpha[k, i]: filters vary down the rows only. (K, H, W)."""

    def __init__(self, rank: int, output_size: Pair, init: str = "conv") -> None:
        super().__init__(rank, output_size, init)
        self.alpha = nn.Parameter(torch.empty(self.rank, self.output_size[0]))
        self.reset_parameters()

    def forward(self, x: Tensor | None = None) -> Tensor:
        return row_logits(self.alpha, self.output_size[1])


class ColumnLogits(FixedLogits):
    """w~[k, i, j] = beta[k, j]: filters vary along the columns only. (K, H, W)."""

    def __init__(self, rank: int, output_size: Pair, init: str = "conv") -> None:
        super().__init__(rank, output_size, init)
        self.beta = nn.Parameter(torch.empty(self.rank, self.output_size[1]))
        self.reset_parameters()

    def forward(self, x: Tensor | None = None) -> Tensor:
        return column_logits(self.beta, self.output_size[0])


class InputDependentLogits(nn.Module):
    """Eq. 6, w~ = g(I), with the network g of the paper's supplementary B:
    (N, C_in, H, W) -> (N, K, H_out, W_out).

    1x1 projection to K channels (``x_lowd``); its global mean; depthwise 3x3 'valid' convs of
    ``x_lowd`` with dilations 1, 2, 4, 8, a dilation r kept only if r <= (min(H, W) - 1) // 2;
    ``x_lowd``, the mean and each branch resized bilinearly (align_corners=True) to the output
    size and concatenated; 1x1 squeeze to half the channels and ReLU; 1x1 excite back and
    sigmoid; a linear 1x1 projection to K logits.
    """

    input_dependent = True
    DILATIONS = (1, 2, 4, 8)

    def __init__(self, in_channels: int, rank: int, input_size: Pair, output_size: Pair) -> None:
        super().__init__()
        in_channels = positive_int(in_channels, "in_channels")
        self.rank = rank = int_at_least(rank, "rank", 1)
        self.input_size = positive_pair(input_size, "input_size")
        self.output_size = positive_pair(output_size, "output_size")
        self.reduce = nn.Conv2d(in_channels, rank, 1)
        limit = (min(self.input_size) - 1) // 2
        self.dilations = tuple(r for r in self.DILATIONS if r <= limit)
        self.branches = nn.ModuleList(
            nn.Conv2d(rank, rank, 3, dilation=r, groups=rank) for r in self.dilations
        )
        channels = (len(self.branches) + 2) * rank
        self.squeeze = nn.Conv2d(channels, channels // 2, 1)
        self.excite = nn.Conv2d(channels // 2, channels, 1)
        self.project = nn.Conv2d(channels, rank, 1)

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.reset_parameters()

    def _resize(self, t: Tensor) -> Tensor:
        if tuple(t.shape[-2:]) == self.output_size:
            return t
        return F.interpolate(t, size=self.output_size, mode="bilinear", align_corners=True)

    def forward(self, x: Tensor) -> Tensor:
        x_lowd = self.reduce(x)
        pooled = x_lowd.mean(dim=(2, 3), keepdim=True).expand(-1, -1, *self.output_size)
        scales = [self._resize(x_lowd), pooled]
        scales += [self._resize(branch(x_lowd)) for branch in self.branches]
        h = torch.relu(self.squeeze(torch.cat(scales, dim=1)))
        h = torch.sigmoid(self.excite(h))
        return self.project(h)

    def extra_repr(self) -> str:
        return f"rank={self.rank}, output_size={self.output_size}, dilations={self.dilations}"


_FIXED = {
    "factorized": FactorizedLogits,
    "full": FullLogits,
    "row": RowLogits,
    "column": ColumnLogits,
}


def make_combining(
    mode: str, in_channels: int, rank: int, input_size: Pair, output_size: Pair, init: str
) -> nn.Module:
    """The combining-logits module for `mode`."""
    if mode == "input_dependent":
        _check_init(init)
        return InputDependentLogits(in_channels, rank, input_size, output_size)
    if mode not in _FIXED:
        raise ValueError(f"combining must be one of {COMBINING_MODES}, got {mode!r}")
    return _FIXED[mode](rank, output_size, init)

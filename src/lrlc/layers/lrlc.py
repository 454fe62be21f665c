"""Low-rank locally connected (LRLC) layer.

Paper: Elsayed, Ramachandran, Shlens, Kornblith, "Revisiting Spatial Invariance with Low-Rank
Local Connectivity", ICML 2020 (arXiv:2002.02959).

At each output position (i, j) the layer applies the filter bank sum_k w[k, i, j] F^k, built
from a basis set of K filter banks F^k and combining weights w normalised over k. The module
holds the parameters; the formulas are the functions of `lrlc.functional`:

- Eq. 2 (per-position filter banks), for `to_locally_connected`: `per_position_filters`
- Eq. 3 (factorised combining logits): `factorized_logits`, called by the logits modules of
  `combining.py`
- Eq. 4 (normalisation over k), in `combining_weights`: `normalize_combining`
- Eq. 5 (spatial bias), in `spatial_bias_map`: `spatial_bias`
- Algorithm 1, in `forward`: the steps of `low_rank_locally_connected2d`, the K banks as one
  convolution per kernel geometry (`BasisSet`, through `basis_responses`), then the weighted
  sum per position (`combine_bases`), then the spatial bias.

K = 1 is a convolution plus the spatial bias; K = H_out * W_out with ``combining="full"`` can
express any locally connected layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..functional import (
    NORMALIZATIONS,
    add_bias_map,
    combine_bases,
    normalize_combining,
    per_position_filters,
    spatial_bias,
)
from ..functional._checks import positive_int, positive_pair
from ..functional._kernel_path import PATHS, choose_path, lrlc_by_kernels
from ..functional._ops import (
    Padding4,
    Pair,
    check_input,
    exporting,
    locally_connected_by_taps,
    memory_format_of,
)
from ..functional._path_timing import fastest_path
from .basis import BasisSet, basis_geometries
from .combining import COMBINING_MODES, make_combining
from .local import LocallyConnected2d

SPATIAL_BIAS = (True, False, "row", "column")
# Algorithm 1's responses at inference, at most: a converged-sweep worker evaluating
# input-dependent LRLC at K = 32 on batches of 1,024 (4 GB of responses, twice that with the
# convolution's own buffers) was killed for lack of memory on a 24 GiB machine.
ALGORITHM1_INFERENCE_BYTES = 256 * 2**20


class LowRankLocallyConnected2d(nn.Module):
    """LRLC layer: (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    Args:
        in_channels, out_channels, stride, padding, dilation: as `nn.Conv2d`; padding may
            also be "same" (TensorFlow's, also with stride > 1) or "valid".
        kernel_size: int or pair, or a list with one entry per basis (then padding="same").
            `dilation` may likewise be a list.
        input_size: (H, W) of the input the layer is built for; the combining weights and the
            spatial bias live on the output grid, so the size is fixed.
        rank: K, the number of basis filter banks (default: the list length, else 1).
        combining: "factorized" (alpha_i + beta_j, Eq. 3), "full" (one logit per position),
            "row", "column", or "input_dependent" (the network g of Supp. B).
        normalize: "softmax" over k (Eq. 4), "norm" (unit L2 norm over k) or "none".
        spatial_bias: True for row + column bias (Eq. 5), "row", "column", or False.
        bias: add a per-channel bias.
        init: "conv" (constant logits: a fresh layer is a convolution) or "random" logits.
        path: how fixed combining weights are computed: "basis" (Algorithm 1, K
            convolutions), "kernel" (the per-position filters of Eq. 2 built row by row and one
            locally connected product: about one convolution's cost whatever K is), or "auto"
            (the cheaper by the cost model `lrlc.functional.choose_path`, or, where that is a
            close call, the faster measured once per shape: `lrlc.functional.fastest_path`).
            Both give the same output and gradients up to rounding; input-dependent weights
            always take Algorithm 1.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence,
        input_size: int | Sequence[int],
        rank: int | None = None,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | str = 0,
        dilation: int | Sequence = 1,
        combining: str = "factorized",
        normalize: str = "softmax",
        spatial_bias: bool | str = True,
        bias: bool = True,
        init: str = "conv",
        path: str = "auto",
    ) -> None:
        super().__init__()
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}, got {path!r}")
        self.path = path
        self.last_path: str | None = None  # the path the last forward took
        if combining not in COMBINING_MODES:
            raise ValueError(f"combining must be one of {COMBINING_MODES}, got {combining!r}")
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        if spatial_bias not in SPATIAL_BIAS:
            raise ValueError(f"spatial_bias must be one of {SPATIAL_BIAS}, got {spatial_bias!r}")
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        self.input_size: Pair = positive_pair(input_size, "input_size")
        self.stride: Pair = positive_pair(stride, "stride")
        self._kernel_arg, self._dilation_arg, self._padding_arg = kernel_size, dilation, padding
        geometries = basis_geometries(kernel_size, dilation, rank)
        self.rank = len(geometries)
        self.combining = combining
        self.normalize = normalize
        self.init = init
        self.basis = BasisSet(
            self.in_channels, self.out_channels, geometries, self.input_size, self.stride, padding
        )
        self.combiner = make_combining(
            combining, self.in_channels, self.rank, self.input_size, self.output_size, init
        )
        h, w = self.output_size
        self.spatial_bias = spatial_bias
        use_row = spatial_bias in (True, "row")
        use_col = spatial_bias in (True, "column")
        self.bias_row = nn.Parameter(torch.empty(h)) if use_row else None
        self.bias_col = nn.Parameter(torch.empty(w)) if use_col else None
        self.bias = nn.Parameter(torch.empty(self.out_channels)) if bias else None
        self._reset_biases()

    @property
    def output_size(self) -> Pair:
        """(H_out, W_out)."""
        return self.basis.output_size

    @property
    def kernel_size(self) -> Pair:
        """The common kernel of `basis_filters()` (the largest extent for mixed bases)."""
        return self.basis.kernel_size

    @property
    def dilation(self) -> Pair:
        return self.basis.dilation

    @property
    def padding(self) -> tuple[int, int, int, int]:
        """Resolved (left, right, top, bottom) padding."""
        return self.basis.padding

    @property
    def input_dependent(self) -> bool:
        return self.combining == "input_dependent"

    def _reset_biases(self) -> None:
        for p in (self.bias_row, self.bias_col, self.bias):
            if p is not None:
                nn.init.zeros_(p)

    def reset_parameters(self) -> None:
        self.basis.reset_parameters()
        self.combiner.reset_parameters()
        self._reset_biases()

    def basis_filters(self) -> Tensor:
        """The basis set F^(1..K): (K, C_out, C_in, kh, kw)."""
        return self.basis.filters()

    def combining_weights(self, x: Tensor | None = None) -> Tensor:
        """Normalised combining weights: (K, H_out, W_out), or (N, K, H_out, W_out) when
        input-dependent (then `x`, the layer input, is required). The logits come from the
        combiner (Eq. 3, or Eq. 6 when input-dependent), normalised over k by Eq. 4."""
        if self.input_dependent:
            if x is None:
                raise ValueError("input-dependent combining weights need the layer input x")
            return normalize_combining(self.combiner(x), self.normalize, dim=1)
        return normalize_combining(self.combiner(), self.normalize, dim=0)

    def spatial_bias_map(self) -> Tensor:
        """Eq. 5, B[c, i, j] = b_row[i] + b_col[j] + b_channel[c], zeros where disabled:
        (C_out, H_out, W_out)."""
        return spatial_bias(
            self.out_channels,
            self.output_size,
            self.bias_row,
            self.bias_col,
            self.bias,
            like=self.basis.weights[0],
        )

    def _has_bias(self) -> bool:
        return any(p is not None for p in (self.bias_row, self.bias_col, self.bias))

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels, self.input_size, type(self).__name__)
        self.last_path = self.chosen_path(x.shape[0], x)
        chunk = self._inference_chunk(x) if self.last_path == "basis" else None
        if chunk is None:
            return self._forward_by(x, self.last_path)
        out = None
        for start, part in zip(range(0, x.shape[0], chunk), x.split(chunk)):
            y = self._forward_by(part, "basis")
            if out is None:  # in x's layout, as the whole batch's output would be
                shape = (x.shape[0], *y.shape[1:])
                fmt = memory_format_of(x)
                out = torch.empty(shape, dtype=y.dtype, device=y.device, memory_format=fmt)
            out[start : start + len(part)] = y
        return out

    def _inference_chunk(self, x: Tensor) -> int | None:
        """Examples per Algorithm 1 call at inference, where a whole batch's K responses
        (N, K, C_out, H_out, W_out) would exceed `ALGORITHM1_INFERENCE_BYTES`, else None.
        Each example's output is its own, so the split changes only the GEMMs' rounding.
        Training keeps the batch whole (autograd holds the responses anyway)."""
        if torch.is_grad_enabled() or exporting() or torch.compiler.is_compiling():
            return None
        device = x.device.type
        on = torch.is_autocast_enabled(device)
        dtype = torch.get_autocast_dtype(device) if on else x.dtype
        h, w = self.output_size
        per_example = self.rank * self.out_channels * h * w * dtype.itemsize
        chunk = max(1, ALGORITHM1_INFERENCE_BYTES // per_example)
        return chunk if chunk < x.shape[0] else None

    def _forward_by(self, x: Tensor, path: str) -> Tensor:
        # Algorithm 1, step by step as `lrlc.functional.low_rank_locally_connected2d`, except
        # that the convolution is the BasisSet's (one per kernel geometry for mixed bases),
        # rank 1 with softmax skips the combine step, and `combine_bases` is looked up in this
        # module, where tests/train/test_learning.py replaces it for its negative controls.
        if path == "kernel":
            # The same sums through the per-position filters W[i, j] = sum_k w[k, i, j] F^k
            # (Eq. 2): the rank-independent path.
            bases, weights = self.basis_filters(), self.combining_weights()
            bias = self.spatial_bias_map() if self._has_bias() else None  # Eq. 5
            if exporting():  # Eq. 2's filters in a graph of plain ops (`locally_connected_by_taps`)
                w = per_position_filters(weights, bases)
                padding, stride, dilation = self._kernel_geometry()
                return locally_connected_by_taps(x, w, bias, stride, padding, dilation)
            # O + B, the bias in each row's first product (on a GPU: batched products instead)
            return lrlc_by_kernels(x, bases, weights, *self._kernel_geometry(), bias=bias)
        responses = self.basis(x)  # O^(k) = I conv F^(k): (N, K, C_out, H_out, W_out)
        if self.rank == 1 and self.normalize == "softmax":
            # A softmax over one basis is exactly 1 whatever the logits: the layer is its
            # convolution plus the bias, and the logits get no gradient either way.
            out = responses[:, 0]
        else:
            out = combine_bases(responses, self.combining_weights(x))  # sum_k W^(k) * O^(k)
        if self._has_bias():
            out = add_bias_map(out, self.spatial_bias_map())  # O + B
        return out

    def chosen_path(self, batch: int, x: Tensor | None = None) -> str:
        """'basis' or 'kernel': the path a batch of `batch` examples takes, by the cost model
        (`lrlc.functional.choose_path`, with the constants of the parameters' device) or, given
        the batch `x` and a close call, the faster measured on it once per shape
        (`lrlc.functional.fastest_path`). `last_path` is the path the last forward took."""
        if self.input_dependent:
            return "basis"  # the filters differ per example: Algorithm 1 (docs/design.md)
        if self.path != "auto":
            return self.path
        if self.rank == 1 and self.normalize == "softmax":
            return "basis"  # exactly one convolution
        if exporting():
            return "kernel"  # an exported graph serves any batch size: the rank-independent form
        stride, dilation = self._kernel_geometry()[1:]
        if x is None:
            return choose_path(self.rank, batch, stride, dilation, self.basis.weights[0].device)
        return fastest_path(
            lambda: f"{type(self).__name__}({self.extra_repr()})",
            self.rank, stride, dilation,
            lambda path, x_: self._forward_by(x_, path),
            [x], self.parameters(),
        )  # fmt: skip

    def _kernel_geometry(self) -> tuple[Padding4, Pair, Pair]:
        """(padding, stride, dilation) of `basis_filters()` (mixed bases: embedded, dilation 1)."""
        return self.padding, self.stride, self.dilation

    @torch.no_grad()
    def to_locally_connected(self) -> LocallyConnected2d:
        """An exact `LocallyConnected2d`: weight[i, j] = sum_k w[k, i, j] F^k (Eq. 2,
        `per_position_filters`), bias the spatial bias map (Eq. 5)."""
        if self.input_dependent:
            raise ValueError(
                "input-dependent combining weights change with every input, so the layer has "
                "no fixed locally connected equivalent; only fixed combining modes convert"
            )
        basis = self.basis
        padding = "same" if basis.mixed else self._padding_arg
        lc = LocallyConnected2d(
            self.in_channels,
            self.out_channels,
            basis.kernel_size,
            input_size=self.input_size,
            stride=self.stride,
            padding=padding,
            dilation=basis.dilation,
            bias=True,
        )
        ref = self.basis_filters()
        lc.to(device=ref.device, dtype=ref.dtype)
        lc.weight.copy_(per_position_filters(self.combining_weights(), ref))
        lc.bias.copy_(self.spatial_bias_map())
        return lc

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self._kernel_arg}, "
            f"input_size={self.input_size}, rank={self.rank}, stride={self.stride}"
        )
        if self._padding_arg != 0:
            s += f", padding={self._padding_arg!r}"
        if self._dilation_arg != 1:
            s += f", dilation={self._dilation_arg}"
        s += f", combining={self.combining!r}, normalize={self.normalize!r}"
        s += f", spatial_bias={self.spatial_bias!r}, bias={self.bias is not None}"
        s += f", init={self.init!r}"
        return s + (f", path={self.path!r}" if self.path != "auto" else "")

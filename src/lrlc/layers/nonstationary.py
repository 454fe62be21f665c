"""Non-stationary continuous-filter convolution.

Paper: van der Ouderaa, Romero, van der Wilk, "Relaxing Equivariance Constraints with
Non-stationary Continuous Filters", NeurIPS 2022 (arXiv:2204.07178).

The filter is a continuous function k(p, d) of the offset d inside the kernel and of the
absolute output position p, both in [-1, 1] per axis, given by a small kernel net (SIREN or
random Fourier features) evaluated at [omega_0 * d, omega_1 * p]. The learnable frequency
omega_1 sets how fast the filter may change across the image, i.e. how far the layer is from
translation equivariance:

* omega_1 = 0: the net never sees p, every position gets one filter, an exact convolution;
* large omega_1: neighbouring positions get unrelated filters, a locally connected layer;
* ``kernel_size="full"``: every output sees every input pixel, a dense linear map;
* a filter constant over d (omega_0 = 0) with omega_1 = 0: a translation-invariant map.

Unlike LRLC, which mixes K basis filters with per-position weights, the number of parameters
does not grow with the image or the kernel size, and one scalar controls the relaxation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..functional import locally_connected2d
from ..functional._checks import int_at_least, positive_int, positive_pair
from ..functional._ops import (
    Pair,
    check_input,
    conv2d_padded,
    conv_output_size,
    resolve_padding,
)
from .kernel_nets import KERNEL_NETS, make_kernel_net, scale_last_layer_

OMEGA_1_INIT = 1.0  # the default start: mildly non-stationary, free to move either way

NO_DILATION: Pair = (1, 1)


def coordinate_grid(
    size: Pair, dtype: torch.dtype | None = None, device: torch.device | None = None
) -> Tensor:
    """Coordinates of an (h, w) grid, each axis linspace(-1, 1), a single point at 0:
    (h, w, 2) holding (row, column)."""
    kw = dict(dtype=dtype, device=device)
    axes = [torch.linspace(-1.0, 1.0, n, **kw) if n > 1 else torch.zeros(1, **kw) for n in size]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


class NonStationaryConv2d(nn.Module):
    """Convolution whose filter is a learned function of offset and position:
    (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    y[n, :, i, j] = kernel()[i, j] * patch(x[n], i, j) + bias, with the patch taken where
    `nn.Conv2d` with the same stride and padding takes it.

    Args:
        in_channels, out_channels, stride, padding: as `nn.Conv2d`; padding may also be
            "same" (TensorFlow's, also with stride > 1) or "valid".
        kernel_size: int or pair, or "full": kernel (2H - 1, 2W - 1), padding (H - 1, W - 1),
            stride 1, so each output position sees the whole input and the layer can be any
            dense linear map of the flattened input. Its kernel holds
            4 (H W)^2 C_out C_in values: O((HW)^2 C_out C_in) memory, for small inputs only.
        input_size: (H, W) the layer is built for; positions live on the output grid.
        kernel_net: "siren" or "rff" (random Fourier features), see `kernel_nets`.
        hidden: width of the kernel net (3 layers).
        omega_0: frequency of the offset input, fixed. Larger values allow rougher filters.
        omega_1: initial frequency of the position input. The default 1.0 starts mildly
            non-stationary: neighbouring positions get nearly equal filters, which drift
            across the image, so training can move omega_1 either way from a near-convolution.
            0.0 starts as an exact convolution (the gradient still reaches omega_1 there).
            Neighbouring filters become largely unrelated from about omega_1 = 10 ("rff") or
            100 ("siren", whose first layer is initialised with smaller weights).
        learn_omega_1: make omega_1 an `nn.Parameter`; otherwise it is a fixed buffer.
        bias: add a per-channel bias (zero at init).

    Cost: `kernel()` evaluates the net at H_out * W_out * kh * kw points at once and holds the
    (H_out, W_out, C_out, C_in, kh, kw) filters, as large as a locally connected weight.
    With omega_1 fixed at exactly 0 the forward pass is one `F.conv2d` instead.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] | str,
        input_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | str = 0,
        kernel_net: str = "siren",
        hidden: int = 32,
        omega_0: float = 10.0,
        omega_1: float = OMEGA_1_INIT,
        learn_omega_1: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        if kernel_net not in KERNEL_NETS:
            raise ValueError(f"kernel_net must be one of {KERNEL_NETS}, got {kernel_net!r}")
        self.hidden = int_at_least(hidden, "hidden", 1)
        for name, value in (("omega_0", omega_0), ("omega_1", omega_1)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        self.input_size: Pair = positive_pair(input_size, "input_size")
        self.stride: Pair = positive_pair(stride, "stride")
        self._kernel_arg, self._padding_arg = kernel_size, padding
        self.kernel_net = kernel_net
        self.omega_0 = float(omega_0)
        self.learn_omega_1 = learn_omega_1
        self._omega_1_init = float(omega_1)

        if isinstance(kernel_size, str):
            if kernel_size != "full":
                raise ValueError(
                    f"kernel_size must be an int, a pair or 'full', got {kernel_size!r}"
                )
            if self.stride != (1, 1) or padding != 0:
                raise ValueError(
                    "kernel_size='full' fixes stride 1 and padding (H - 1, W - 1); leave "
                    f"them at their defaults, got stride={stride!r}, padding={padding!r}"
                )
            h, w = self.input_size
            self.kernel_size: Pair = (2 * h - 1, 2 * w - 1)
            self.padding = (w - 1, w - 1, h - 1, h - 1)
        else:
            self.kernel_size = positive_pair(kernel_size, "kernel_size")
            self.padding = resolve_padding(
                padding, self.input_size, self.kernel_size, self.stride, NO_DILATION
            )
        self.output_size: Pair = conv_output_size(
            self.input_size, self.kernel_size, self.stride, self.padding, NO_DILATION
        )
        self.net = make_kernel_net(kernel_net, 4, self.out_channels * self.in_channels, hidden)
        if learn_omega_1:
            self.omega_1 = nn.Parameter(torch.tensor(self._omega_1_init))
        else:
            self.register_buffer("omega_1", torch.tensor(self._omega_1_init))
        self.bias = nn.Parameter(torch.empty(self.out_channels)) if bias else None
        self.reset_parameters()

    @property
    def fan_in(self) -> int:
        """C_in * kh * kw, the inputs each output sums over."""
        return self.in_channels * math.prod(self.kernel_size)

    def reset_parameters(self) -> None:
        """Fresh kernel net, omega_1 back to its initial value, zero bias.

        The net's output layer is scaled so that the filter values have mean square
        2 / (C_in kh kw) over all (position, offset) points, He initialisation's variance, so
        a stack of these layers starts out like a He-initialised conv net.
        """
        with torch.no_grad():
            self.omega_1.fill_(self._omega_1_init)
            self.net.reset_parameters()
            z = self._net_input(self._grid(self.output_size)).reshape(-1, 4)
            scale_last_layer_(self.net, z, 2.0 / self.fan_in)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _grid(self, size: Pair) -> Tensor:
        # Built on the fly in the parameters' dtype: a float32 grid cast to float64 would carry
        # float32 rounding into a float64 layer.
        like = self.net.last.weight
        return coordinate_grid(size, like.dtype, like.device)

    def _net_input(self, positions: Tensor) -> Tensor:
        """[omega_0 * d, omega_1 * p] at every (position, offset) pair: (Hp, Wp, kh, kw, 4)."""
        hp, wp = positions.shape[:2]
        kh, kw = self.kernel_size
        offsets = self.omega_0 * self._grid(self.kernel_size)
        d = offsets.view(1, 1, kh, kw, 2).expand(hp, wp, kh, kw, 2)
        # omega_1 is used raw (no clamp or softplus), so its gradient is non-zero even at 0.
        p = (self.omega_1 * positions).view(hp, wp, 1, 1, 2).expand(hp, wp, kh, kw, 2)
        return torch.cat([d, p], dim=-1)

    def _evaluate(self, positions: Tensor) -> Tensor:
        """Filters at the given positions (Hp, Wp, 2): (Hp, Wp, C_out, C_in, kh, kw)."""
        z = self._net_input(positions)
        hp, wp, kh, kw, _ = z.shape
        # One batched evaluation over all points; the net's rows are points, its columns
        # the C_out * C_in filter entries.
        k = self.net(z.reshape(-1, 4)).view(hp, wp, kh, kw, self.out_channels, self.in_channels)
        # A view: the product re-lays it out row by row itself.
        return k.permute(0, 1, 4, 5, 2, 3)

    def kernel(self) -> Tensor:
        """Per-position filters: (H_out, W_out, C_out, C_in, kh, kw)."""
        return self._evaluate(self._grid(self.output_size))

    def is_stationary(self) -> bool:
        """True when omega_1 is fixed at exactly 0, so the layer is a plain convolution."""
        return not self.learn_omega_1 and float(self.omega_1.detach()) == 0.0

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels, self.input_size, type(self).__name__)
        if self.is_stationary():
            # Every position would get the filter at p = 0: evaluate it once and convolve.
            weight = self._evaluate(self._grid((1, 1)))[0, 0]
            out = conv2d_padded(x, weight, self.stride, self.padding, NO_DILATION)
        else:
            # the locally connected product: row by row with its own backward when training
            out = locally_connected2d(x, self.kernel(), None, self.stride, self.padding)
        return out if self.bias is None else out + self.bias.view(-1, 1, 1)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self._kernel_arg!r}, "
            f"input_size={self.input_size}, stride={self.stride}"
        )
        if self._padding_arg != 0:
            s += f", padding={self._padding_arg!r}"
        s += (
            f", kernel_net={self.kernel_net!r}, hidden={self.hidden}, omega_0={self.omega_0:g}"
            f", omega_1={float(self.omega_1.detach()):.4g}, learn_omega_1={self.learn_omega_1}"
        )
        return s + f", bias={self.bias is not None}"

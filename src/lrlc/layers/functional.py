"""The former home of the layers' shared functions, kept so that its names still import.

The paper's formulas now live in `lrlc.functional` (Eq. 2-5 and Algorithm 1, one named
function each), the low-level helpers (padding, shape arithmetic, the locally connected
product, the combine step's autograd Function) in `lrlc.functional._ops`. New code should import
from those; this module only re-exports them under their old names.
"""

from __future__ import annotations

from torch import Tensor

from ..functional import NORMALIZATIONS, normalize_combining, spatial_bias
from ..functional._kernel_path import locally_connected_by_rows
from ..functional._kernel_path import locally_connected_inference as _rows_inference
from ..functional._ops import (
    Padding4,
    Pair,
    _CombineBases,
    check_input,
    combine_bases,
    combine_bases_reference,
    conv2d_padded,
    conv_output_size,
    effective_kernel,
    resolve_padding,
    to_pair,
)

__all__ = [
    "NORMALIZATIONS",
    "Padding4",
    "Pair",
    "_CombineBases",
    "check_input",
    "combine_bases",
    "combine_bases_reference",
    "conv2d_padded",
    "conv_output_size",
    "effective_kernel",
    "locally_connected",
    "locally_connected_inference",
    "normalize_combining",
    "resolve_padding",
    "spatial_bias_map",
    "weight_by_tap",
    "tap_major",
    "to_pair",
]


def spatial_bias_map(
    out_channels: int,
    output_size: Pair,
    row: Tensor | None,
    column: Tensor | None,
    channel: Tensor | None,
    like: Tensor,
) -> Tensor:
    """The old signature of `lrlc.functional.spatial_bias` (Eq. 5): (C_out, H, W)."""
    return spatial_bias(out_channels, output_size, row, column, channel, like=like)


def locally_connected(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Pair,
    padding: Padding4,
    dilation: Pair,
) -> Tensor:
    """The old autograd locally connected product: now the row-by-row engine of
    `lrlc.functional.locally_connected_by_rows`, plus the bias."""
    out = locally_connected_by_rows(x, weight, padding, stride, dilation)
    return out if bias is None else out + bias.to(out.dtype)


def weight_by_tap(weight: Tensor) -> Tensor:
    """The old inference layout: (H_out, W_out, C_out, C_in, kh, kw) -> (H_out, kh, kw, W_out,
    C_in, C_out), contiguous, what the old `locally_connected_inference` took."""
    return weight.permute(0, 4, 5, 1, 3, 2).contiguous()


def locally_connected_inference(
    x: Tensor, taps: Tensor, bias: Tensor | None, stride: Pair, padding: Padding4, dilation: Pair
) -> Tensor:
    """The old signature, with the weight in `weight_by_tap` layout: now the row products of
    `lrlc.functional._kernel_path.locally_connected_inference`, which takes it by rows."""
    h, kh, kw, w, c_in, c_out = taps.shape
    rows = taps.permute(0, 3, 1, 2, 4, 5).reshape(h, w, kh, kw * c_in, c_out)
    return _rows_inference(x, rows, bias, stride, padding, dilation)


tap_major = weight_by_tap  # its name before 0.2

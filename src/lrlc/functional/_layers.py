"""Whole layers as functions (public through `lrlc.functional`): the LRLC layer by the paper's
Algorithm 1, its steps, and the locally connected product it converts to.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._bias import add_bias_map
from ._checks import positive_pair
from ._engines import plain_engine
from ._equations import check_bases
from ._kernel_path import (
    PATHS,
    locally_connected_by_rows,
    locally_connected_inference,
    lrlc_by_kernels,
    weight_by_rows,
)
from ._ops import (
    Padding4,
    Pair,
    check_floating,
    combine_bases,
    conv2d_padded,
    conv_output_size,
    inference_dtype,
    resolve_padding,
)
from ._path_timing import fastest_path

PaddingArg = int | Sequence[int] | str


def basis_responses(
    x: Tensor,
    bases: Tensor,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """Algorithm 1, its convolution: O^(k) = I conv F^(k) for all k, as ONE convolution with
    K * C_out output channels.

    Args:
        x: I, (N, C_in, H, W).
        bases: the basis set F^(1..K), (K, C_out, C_in, kh, kw).
        stride, padding, dilation: as in `low_rank_locally_connected2d`.

    Returns:
        (N, K, C_out, H_out, W_out).
    """
    check_bases(bases)
    check_image(x, bases.shape[2], "basis_responses")
    k, c_out = bases.shape[:2]
    stride = positive_pair(stride, "stride")
    dilation = positive_pair(dilation, "dilation")
    pad = padding4(padding, x.shape[-2:], bases.shape[-2:], stride, dilation)
    out = conv2d_padded(x, bases.reshape(k * c_out, *bases.shape[2:]), stride, pad, dilation)
    return out.view(x.shape[0], k, c_out, *out.shape[-2:])


def low_rank_locally_connected2d(
    x: Tensor,
    bases: Tensor,
    weights: Tensor,
    bias_map: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
    path: str = "auto",
) -> Tensor:
    """Algorithm 1, the LRLC layer as one function (the analogue of `F.conv2d`).

    y[n, :, i, j] = F^(i,j) patch(x[n], i, j) + B[:, i, j], with F^(i,j) of Eq. 2, computed
    as the paper does, without forming any F^(i,j): O^(k) = I conv F^(k) as one convolution
    with K * C_out outputs (`basis_responses`); O = sum_k W^(k) * O^(k) (`combine_bases`, a
    custom autograd Function that holds no (N, K, C_out, H, W) temporary); O = O + B.

    Args:
        x: I, (N, C_in, H, W).
        bases: the basis set F^(1..K), (K, C_out, C_in, kh, kw).
        weights: combining weights, already normalised (Eq. 3 and 4): (K, H_out, W_out), or
            (N, K, H_out, W_out) per example (input-dependent, section 3.2.2).
        bias_map: B of Eq. 5, (C_out, H_out, W_out) (see `spatial_bias`), or None.
        stride, padding, dilation: as `F.conv2d`; padding may also be "same" (TensorFlow's,
            also with stride > 1), "valid" or (left, right, top, bottom).
        path: "basis" computes Algorithm 1 as above; "kernel" the same sums through the
            per-position filters of Eq. 2, built row by row, and one locally connected
            product (`lrlc.functional.lrlc_by_kernels`: about one convolution's cost whatever
            K is; fixed weights only); "auto" (default) the cheaper by `choose_path`, or where
            that is a close call the faster measured once per shape (`fastest_path`).

    Returns:
        (N, C_out, H_out, W_out).

    A mixed basis set (kernel sizes or dilations differing per basis, section 3.2) is left
    to `lrlc.layers.LowRankLocallyConnected2d`, which runs one convolution per geometry.
    It can still be passed here as that module's `basis_filters()` (every basis embedded,
    centred, in one dilation-1 kernel) with dilation 1 and the module's `padding`: the same
    output, at the cost of convolving with the common kernel.
    """
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    if weights.dim() == 3 and path != "basis":
        stride_, dilation_ = positive_pair(stride, "stride"), positive_pair(dilation, "dilation")
        if path == "auto":
            path = _auto_path(x, bases, weights, bias_map, stride_, padding, dilation_)
        if path == "kernel":
            return _by_kernels(x, bases, weights, bias_map, stride_, padding, dilation_)
    responses = basis_responses(x, bases, stride, padding, dilation)
    n, k, _, h, w = responses.shape
    ok = weights.dim() in (3, 4) and tuple(weights.shape[-3:]) == (k, h, w)
    if not ok or (weights.dim() == 4 and weights.shape[0] != n):
        raise ValueError(
            f"weights must be (K, H_out, W_out) = {(k, h, w)} or (N, K, H_out, W_out) = "
            f"{(n, k, h, w)}, got shape {tuple(weights.shape)}"
        )
    out = combine_bases(responses, weights)
    if bias_map is not None:
        out = add_bias_map(out, bias_map)
    return out


def _auto_path(x, bases, weights, bias_map, stride: Pair, padding, dilation: Pair) -> str:
    def run(path: str, *args: Tensor | None) -> Tensor:
        return low_rank_locally_connected2d(*args, stride, padding, dilation, path=path)

    def name() -> str:
        return (f"low_rank_locally_connected2d(bases={tuple(bases.shape)}, stride={stride}, "
                f"padding={padding!r}, dilation={dilation})")  # fmt: skip

    return fastest_path(name, bases.shape[0], stride, dilation, run, (x, bases, weights, bias_map))


def _by_kernels(x, bases, weights, bias_map, stride: Pair, padding, dilation: Pair) -> Tensor:
    check_bases(bases)
    check_image(x, bases.shape[2], "low_rank_locally_connected2d")
    pad = padding4(padding, x.shape[-2:], bases.shape[-2:], stride, dilation)
    out_size = conv_output_size(tuple(x.shape[-2:]), tuple(bases.shape[-2:]), stride, pad, dilation)
    if tuple(weights.shape) != (bases.shape[0], *out_size):
        raise ValueError(
            f"weights must be (K, H_out, W_out) = {(bases.shape[0], *out_size)}, got shape "
            f"{tuple(weights.shape)}"
        )
    return lrlc_by_kernels(x, bases, weights, pad, stride, dilation, bias=bias_map)


def locally_connected2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """The locally connected product: y[n, :, i, j] = weight[i, j] patch(x[n], i, j) + bias.

    An LRLC layer with fixed combining weights is this product with weight =
    `per_position_filters` (Eq. 2) and bias = `spatial_bias` (Eq. 5).

    Args:
        x: (N, C_in, H, W).
        weight: (H_out, W_out, C_out, C_in, kh, kw), one filter bank per output position.
        bias: (C_out, H_out, W_out) or None.
        stride, padding, dilation: as `F.conv2d`, whose patches this takes; padding may also
            be "same", "valid" or (left, right, top, bottom).

    Returns:
        (N, C_out, H_out, W_out). With autograd, the row-by-row product with its own backward
        (`_rows.py`); without (nothing requires grad, or under `torch.no_grad()`), the same
        row products without autograd, the bias added in the first. On a GPU, a few batched
        products over all positions either way (`_engines.plain_engine`).
    """
    if weight.dim() != 6:
        raise ValueError(
            f"weight must be (H_out, W_out, C_out, C_in, kh, kw), got shape {tuple(weight.shape)}"
        )
    check_image(x, weight.shape[3], "locally_connected2d")
    stride = positive_pair(stride, "stride")
    dilation = positive_pair(dilation, "dilation")
    size: Pair = tuple(x.shape[-2:])  # type: ignore[assignment]
    kernel: Pair = tuple(weight.shape[-2:])  # type: ignore[assignment]
    pad = padding4(padding, size, kernel, stride, dilation)
    out_size = conv_output_size(size, kernel, stride, pad, dilation)
    if out_size != tuple(weight.shape[:2]):
        raise ValueError(
            f"weight has {tuple(weight.shape[:2])} positions but the input {size} gives "
            f"{out_size} outputs with this stride, padding and dilation"
        )
    tensors = (x, weight) if bias is None else (x, weight, bias)
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    if grad or plain_engine(x.device) is not None:
        return locally_connected_by_rows(x, weight, pad, stride, dilation, bias=bias)
    rows = weight_by_rows(weight.to(inference_dtype(x, weight.dtype)))
    return locally_connected_inference(x, rows, bias, stride, pad, dilation)


def padding4(
    padding: PaddingArg, size: Sequence[int], kernel: Sequence[int], stride: Pair, dilation: Pair
) -> Padding4:
    """(left, right, top, bottom) from any accepted padding; an explicit 4-tuple is used as
    given (negative entries crop)."""
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        if not all(isinstance(p, int) and not isinstance(p, bool) for p in padding):
            raise ValueError(f"padding (left, right, top, bottom) must be ints, got {padding!r}")
        return tuple(padding)  # type: ignore[return-value]
    return resolve_padding(padding, tuple(size), tuple(kernel), stride, dilation)


def check_image(x: Tensor, in_channels: int, name: str) -> None:
    """Raise a ValueError unless `x` is (N, C_in, H, W) with C_in = `in_channels`."""
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(
            f"{name} expects an input (N, C_in, H, W) with C_in = {in_channels}, got shape "
            f"{tuple(x.shape)}"
        )
    check_floating(x, name)

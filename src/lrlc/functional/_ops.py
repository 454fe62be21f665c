"""Low-level operations under `lrlc.functional` and the layers: shape arithmetic, padding,
the locally connected product, and the combine step of Algorithm 1 with its own backward.

Private: the public names are in `lrlc.functional` (the paper's formulas, built on these) and,
under their old names, in `lrlc.layers.functional`. Imports only torch and `._checks`, so that
`lrlc.layers` may import `lrlc.functional` without a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import non_negative_pair

Pair = tuple[int, int]
# (left, right, top, bottom), the order of F.pad for the last two dimensions.
Padding4 = tuple[int, int, int, int]


def to_pair(value: int | Sequence[int], name: str = "value") -> Pair:
    """An int or a sequence of two ints as a pair (h, w)."""
    if isinstance(value, int):
        return (value, value)
    pair = tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair  # type: ignore[return-value]


def effective_kernel(kernel_size: Pair, dilation: Pair) -> Pair:
    """Extent of a dilated kernel: (k - 1) * d + 1 per axis."""
    return tuple((k - 1) * d + 1 for k, d in zip(kernel_size, dilation))  # type: ignore[return-value]


def resolve_padding(
    padding: int | Sequence[int] | str,
    input_size: Pair,
    kernel_size: Pair,
    stride: Pair,
    dilation: Pair,
) -> Padding4:
    """Explicit (left, right, top, bottom) padding for an `nn.Conv2d`-style padding spec.

    ``"same"`` follows TensorFlow: the output has ``ceil(in / stride)`` positions and any odd
    leftover goes to the bottom/right. With stride 1 this equals ``nn.Conv2d(padding="same")``;
    unlike it, strides above 1 are allowed.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0, 0, 0)
        if mode != "same":
            raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        ext = effective_kernel(kernel_size, dilation)
        pads = []
        for size, k, s in zip(input_size, ext, stride):
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        return (left, right, top, bottom)
    ph, pw = non_negative_pair(padding, "padding")
    return (pw, pw, ph, ph)


def conv_output_size(
    input_size: Pair, kernel_size: Pair, stride: Pair, padding: Padding4, dilation: Pair
) -> Pair:
    """Output (H_out, W_out) of a cross-correlation, as `nn.Conv2d` computes it.

    Raises a ValueError when no output position remains, i.e. the padded input is smaller
    than the dilated kernel: the layers size their weights by this output.
    """
    left, right, top, bottom = padding
    ext = effective_kernel(kernel_size, dilation)
    h = (input_size[0] + top + bottom - ext[0]) // stride[0] + 1
    w = (input_size[1] + left + right - ext[1]) // stride[1] + 1
    if h < 1 or w < 1:
        smallest = (max(ext[0] - top - bottom, 1), max(ext[1] - left - right, 1))
        raise ValueError(
            f"input_size {tuple(input_size)} is too small for kernel {tuple(kernel_size)} "
            f"with dilation {tuple(dilation)} and padding (left, right, top, bottom) "
            f"{padding}: no output position remains (output ({h}, {w})); input_size must be "
            f"at least {smallest}"
        )
    return (h, w)


def conv2d_padded(
    x: Tensor, weight: Tensor, stride: Pair, padding: Padding4, dilation: Pair, groups: int = 1
) -> Tensor:
    """`F.conv2d` with explicit, possibly asymmetric or negative (cropping) padding."""
    left, right, top, bottom = padding
    if left == right and top == bottom and left >= 0 and top >= 0:
        return F.conv2d(x, weight, None, stride, (top, left), dilation, groups)
    return F.conv2d(F.pad(x, padding), weight, None, stride, 0, dilation, groups)


def inference_dtype(x: Tensor, dtype: torch.dtype) -> torch.dtype:
    """The dtype `locally_connected_inference` should multiply a `dtype` weight in: under
    autocast a float32 weight takes the autocast dtype, as the autograd path's bmm would."""
    if torch.is_autocast_enabled(x.device.type) and dtype == torch.float32:
        return torch.get_autocast_dtype(x.device.type)
    return dtype


def memory_format_of(x: Tensor) -> torch.memory_format:
    """channels_last for an (N, C, H, W) tensor stored as NHWC, else contiguous: the layout a
    layer's output and input gradient keep, as `nn.Conv2d`'s do."""
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def exporting() -> bool:
    """Whether the module is being traced for export (`torch.export`, ONNX, TorchScript)."""
    is_exporting = getattr(torch.compiler, "is_exporting", None)  # torch >= 2.3
    return bool(
        (is_exporting is not None and is_exporting())
        or torch.jit.is_tracing()
        or torch.onnx.is_in_onnx_export()
    )


def locally_connected_by_taps(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Pair,
    padding: Padding4,
    dilation: Pair,
) -> Tensor:
    """The locally connected product as kh * kw position-batched products, one per kernel tap:
    O[n, o, i, j] = sum_(a, b, c) X_pad[n, c, i s + a d, j s + b d] W[i, j, o, c, a, b].

    Args:
        x: (N, C_in, H, W); weight: (H_out, W_out, C_out, C_in, kh, kw); bias: (C_out, H_out,
            W_out) or None. Returns (N, C_out, H_out, W_out).

    A graph of a few plain ops (slices and einsums) that autograd, `torch.export` and ONNX all
    take, and that maps to one batched matmul per tap on any runtime; the row engines are
    faster here but unroll into H_out * kh * kw nodes when exported.
    """
    h, w, _, _, kh, kw = weight.shape
    xp = F.pad(x, padding)
    out = None
    for a in range(kh):
        top = a * dilation[0]
        for b in range(kw):
            left = b * dilation[1]
            xs = xp[:, :, top : top + (h - 1) * stride[0] + 1 : stride[0]]
            xs = xs[:, :, :, left : left + (w - 1) * stride[1] + 1 : stride[1]]
            term = torch.einsum("nchw,hwoc->nohw", xs, weight[..., a, b])
            out = term if out is None else out + term
    return out if bias is None else out + bias


def locally_connected_by_patches(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Pair,
    padding: Padding4,
    dilation: Pair,
) -> Tensor:
    """The locally connected product as one batched matmul over the output positions, each
    contracting a whole patch (C_in * kh * kw): O[n, :, p] = W[p] P[n, :, p], where
    P = unfold(X_pad) holds every position's patch, (N, C_in * kh * kw, H_out * W_out).

    Args and result as `locally_connected_by_taps`. The patches are a copy of the input
    kh * kw times over, which autograd keeps for the weight's gradient: the form for GPUs,
    where one large product is far faster than many small ones, not for CPUs with little
    memory bandwidth (the row engines of `_rows.py` read the input in place).
    """
    h, w, c_out, c_in, kh, kw = weight.shape
    patches = F.unfold(F.pad(x, padding), (kh, kw), dilation=dilation, stride=stride)
    # unfold orders a patch (c, a, b), as the weight's last three dimensions.
    per_position = weight.reshape(h * w, c_out, c_in * kh * kw)
    out = torch.bmm(per_position, patches.permute(2, 1, 0))  # (H_out * W_out, C_out, N)
    out = out.permute(2, 1, 0).reshape(x.shape[0], c_out, h, w)
    return out if bias is None else out + bias


def combine_bases(responses: Tensor, weights: Tensor) -> Tensor:
    """Weighted sum of the basis responses, O = sum_k W^(k) * O^(k) (the loop of Algorithm 1).

    Args:
        responses: (N, K, C_out, H, W), the K basis filter banks applied to the input.
        weights: (K, H, W) fixed, or (N, K, H, W) input-dependent combining weights.

    Returns:
        (N, C_out, H, W) = sum_k weights[..., k, :, :] * responses[:, k].
    """
    return _CombineBases.apply(responses, weights.to(responses.dtype))


def combine_bases_reference(responses: Tensor, weights: Tensor) -> Tensor:
    """The plain broadcast form of `combine_bases`, for tests and benchmarks."""
    w = weights.to(responses.dtype)
    w = w.unsqueeze(0) if w.dim() == 3 else w
    return (responses * w.unsqueeze(2)).sum(1)


class _CombineBases(torch.autograd.Function):
    """`combine_bases` with a hand-written backward.

    Autograd through a Python loop over `responses[:, k]` would give each k its own
    full-size (N, K, C_out, H, W) zero-filled gradient; a broadcast product would hold an
    (N, K, C_out, H, W) temporary on top of the responses. Here the forward accumulates into
    one (N, C_out, H, W) buffer and the backward writes the responses' gradient once, so the
    layer costs little more time and memory than its convolution (benchmarks/layers.py).
    """

    @staticmethod
    def forward(ctx, responses: Tensor, weights: Tensor) -> Tensor:
        w = weights.unsqueeze(0) if weights.dim() == 3 else weights  # (1 or N, K, H, W)
        out = torch.mul(responses[:, 0], w[:, 0:1])
        for k in range(1, responses.shape[1]):
            out.addcmul_(responses[:, k], w[:, k : k + 1])
        ctx.save_for_backward(responses, weights)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, Tensor | None]:
        responses, weights = ctx.saved_tensors
        w = weights.unsqueeze(0) if weights.dim() == 3 else weights
        grad_r = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_r = torch.mul(grad_out.unsqueeze(1), w.unsqueeze(2))
        if ctx.needs_input_grad[1]:
            # One (N, C_out, H, W) product at a time, reduced over channels (and the batch
            # for fixed weights) before the next k.
            dims = (0, 1) if weights.dim() == 3 else (1,)
            grad_w = torch.stack(
                [torch.mul(grad_out, responses[:, k]).sum(dims) for k in range(w.shape[1])],
                dim=0 if weights.dim() == 3 else 1,
            )
        return grad_r, grad_w


def check_input(x: Tensor, in_channels: int, input_size: Pair, layer: str) -> None:
    """Raise a ValueError naming the expected and received shape if `x` does not fit."""
    if x.dim() != 4:
        raise ValueError(
            f"{layer} expects a 4-D input (N, C, H, W), got a {x.dim()}-D tensor of shape "
            f"{tuple(x.shape)}"
        )
    check_floating(x, layer)
    if x.shape[1] != in_channels:
        raise ValueError(
            f"{layer} was built for {in_channels} input channels, got {x.shape[1]} "
            f"(input shape {tuple(x.shape)})"
        )
    if tuple(x.shape[-2:]) != tuple(input_size):
        raise ValueError(
            f"{layer} was built for input size {tuple(input_size)}, got "
            f"{tuple(x.shape[-2:])}; build the layer with input_size={tuple(x.shape[-2:])}"
        )


def check_floating(x: Tensor, layer: str) -> None:
    """Raise a TypeError for an integer or boolean input (images as uint8, say), which would
    otherwise fail deep inside a product with a message about scalar types."""
    if not x.is_floating_point():
        raise TypeError(
            f"{layer} expects a floating-point input, got {x.dtype}; convert it first "
            "(e.g. x.float() / 255 for uint8 images)"
        )

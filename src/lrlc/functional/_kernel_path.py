"""The rank-independent path of the LRLC layer, and `LocallyConnected2d` training, as
autograd Functions over the row-by-row product of `_rows.py`.

`lrlc_by_kernels` computes exactly what Algorithm 1 computes for fixed combining weights, as a
locally connected product with the per-position filters of Eq. 2 built row by row. Its cost
does not grow with K beyond a part that is small next to the products (building the filters,
dF^k and dw): 1.4-3 convolutions' worth, depending on the CPU, where Algorithm 1 costs K.

`choose_path` is the cost model the layers use to pick a path by themselves, with constants
per kind of CPU, and one set for GPUs (`path_costs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ._basis_rows import BasisKernels
from ._bias import batch_sum_to
from ._engines import plain_engine
from ._equations import per_position_filters
from ._native import column_multiple
from ._native.layout import transposed_copy
from ._ops import Padding4, Pair, conv_output_size, inference_dtype, memory_format_of
from ._rows import (
    RowGeometry,
    RowKernels,
    forward_rows,
    pad_nhwc,
    training_input,
    transposed_input_grad,
)
from ._rows_backward import backward_rows

PATHS = ("auto", "basis", "kernel")


@dataclass(frozen=True)
class PathCosts:
    """The kernel path's cost, in units of one convolution's training step (forward +
    backward) of the same size: `products` convolutions' worth in its products, plus a part
    that does not shrink with the batch (building, re-laying out and reading the per-position
    filters: `fixed_examples` examples' worth of convolution) and a small part that grows with K
    (building W, dF^k and dw: `per_rank_examples` per basis). dL/dx through scattered patch
    gradients adds `strided_input_grad` for strided columns (products accumulated into
    d(xp), `_rows_backward._scatter_by_products`) and `scattered_input_grad` for dilated ones
    (one product per tap, in the row loop: at dilation 2, N = 128, K = 4 / 16, 1.66 / 1.88x
    a convolution against 1.17 / 1.37 undilated, session 23, which the 0.5 first estimated
    holds). Algorithm 1 costs K convolutions."""

    products: float
    fixed_examples: float
    per_rank_examples: float
    scattered_input_grad: float = 0.5
    strided_input_grad: float = 0.5

    def kernel_cost(self, rank: int, batch: int, scattered: str | None) -> float:
        """`scattered`: None (dL/dx by the transposed product), "strided" or "dilated"."""
        cost = self.products + (self.fixed_examples + self.per_rank_examples * rank) / batch
        extra = {None: 0.0, "strided": self.strided_input_grad}
        return cost + extra.get(scattered, self.scattered_input_grad)


# Fitted to `lrlc bench rank` (docs/performance.md) on the two kinds of CPU these machines
# have. The ratio moves with the ISA because oneDNN's convolution gains far more from AVX-512
# than the batched GEMMs of the kernel path do (N = 512: convolution 616 -> 176 ms, kernel
# path 911 -> 474 ms), so one set of constants picks the slower path on one of them:
# - AVX2 (AMD EPYC Zen 3, float32): kernel path 1.4-1.7x a convolution; it wins from K = 2.
# - AVX-512 (AMD EPYC Zen 5, float32 and bf16 alike): 2.4-3.1x at N = 512, 2.8-5.6x at
#   N = 128; Algorithm 1 wins at K = 2 (2.0x), the kernel path from K = 4. At batch 32 (the
#   `converged` preset's whole training step, 1 thread) Algorithm 1 still won at K = 4 (1.69
#   vs 2.05x the convolutional net's step with LRLC in the 3rd layer, 1.89 vs 2.37 in the 2nd)
#   and lost from K = 8; fixed_examples = 40 puts the crossover there.
# Both are for torch's products (no C compiler, LRLC_NATIVE=0). With the compiled row
# products (`_native`, session 19) the AVX-512 Zen 4 ran the kernel path at 1.20-1.65x a
# convolution at N = 512 and 1.27-2.49x at N = 128 (float32, channels_last and NCHW, three
# grids of `lrlc bench rank`, docs/benchmarks/rank-zen4-fp32-*-s19*): the least-squares fit
# of P + (F + c K) / N to those 36 points is P = 1.25, F = 37, c = 2.6 (session 20). Then the
# kernel path is the cheaper from K = 2 at batches of 128 and 512, and from K = 4 at 32. The
# AVX2 kernel ran the products at MKL's speed (Zen 4 held to AVX2), so AVX2 keeps its set.
CPU_PATH_COSTS = {
    "AVX2": PathCosts(products=1.4, fixed_examples=60.0, per_rank_examples=1.0),
    "AVX512": PathCosts(products=2.9, fixed_examples=40.0, per_rank_examples=2.0),
}
# Strided columns (stride 2, padding 1, 64 channels, 24 x 24) cost 0.01-0.06 of a
# convolution step over stride 1 at K = 1-4, N = 128 and 512, with the compiled products
# (session 23, docs/performance.md).
COMPILED_PATH_COSTS = {
    "AVX512": PathCosts(
        products=1.25, fixed_examples=37.0, per_rank_examples=2.6, strided_input_grad=0.05
    ),
}
# CPUs of other ISAs (not measured) get AVX2's costs.
DEFAULT_PATH_COSTS = CPU_PATH_COSTS["AVX2"]
# GPUs, where the locally connected product runs as plain batched ops (`_engines.py`) and
# every call is timed anyway (`_path_timing.ALWAYS_MEASURED`): these serve only where timing
# is off. On an NVIDIA H200 (session 15) the kernel path cost 3.0-5.3 convolutions at batch
# 128 and 7.7-12.7 at 512, whatever K, while Algorithm 1 cost 1.5-4.7 at K <= 8: its K
# convolutions are launch-bound there. Twelve puts the crossover between K = 8 and 16.
GPU_PATH_COSTS = PathCosts(products=12.0, fixed_examples=0.0, per_rank_examples=0.0)


def path_costs(device: torch.device | str | None = None) -> PathCosts:
    """The kernel path's cost constants for a device: by the CPU's vector ISA as torch
    dispatches it (`torch.backends.cpu.get_cpu_capability()`) and whether the compiled row
    products run (`COMPILED_PATH_COSTS`), `GPU_PATH_COSTS` elsewhere."""
    if torch.device(device or "cpu").type != "cpu":
        return GPU_PATH_COSTS
    capability = torch.backends.cpu.get_cpu_capability()
    isa = "AVX512" if capability.startswith("AVX512") else capability
    if isa in COMPILED_PATH_COSTS and column_multiple():
        return COMPILED_PATH_COSTS[isa]
    return CPU_PATH_COSTS.get(isa, DEFAULT_PATH_COSTS)


def _geometry(xp: Tensor, kernel: Pair, stride: Pair, dilation: Pair, out: Pair) -> RowGeometry:
    return RowGeometry(
        kernel[0], kernel[1], stride, dilation, (xp.shape[0], xp.shape[2]), out, xp.shape[3]
    )


class _WeightKernels(RowKernels):
    """Row filters read from a locally connected weight (H_out, W_out, C_out, C_in, kh, kw)."""

    def __init__(self, weight: Tensor, need_grads: bool = False) -> None:
        self.weight = weight
        self._scattered: Tensor | None = None  # `kernel_row_scattered`'s buffer
        self._d_rows: Tensor | None = None  # d_weight in the rows' order, where a view
        if need_grads:
            self.d_weight = torch.empty_like(weight)
            self._d_rows = _rows_view(self.d_weight)

    def row(self, i: int) -> Tensor:
        return weight_by_rows(self.weight[i : i + 1])[0]

    def kernel_row_scattered(self, i: int, a: int) -> Tensor:
        """(W_out, C_out, kw * C_in), contiguous, for the compiled products of strided dL/dx:
        the stored rows transposed by `transposed_copy` into one reused buffer (stride 2, N =
        128: the step 1.53 -> 1.34x a convolution, alternating; AMD EPYC Zen 4)."""
        rows = _rows_view(self.weight)  # (H_out, W_out, kh, kw * C_in, C_out)
        if rows is None:
            return super().kernel_row_scattered(i, a)
        src = rows[i, :, a].transpose(1, 2)
        if self._scattered is None:
            self._scattered = torch.empty(src.shape, dtype=src.dtype, device=src.device)
        return transposed_copy(self._scattered, src)

    def whole_source(self) -> tuple[str, Tensor] | None:
        rows = _rows_view(self.weight)
        return None if rows is None else ("rows", rows)

    def grad_target(self, i: int, a: int) -> Tensor | None:
        return None if self._d_rows is None else self._d_rows[i, :, a]

    def takes_program(self) -> bool:
        # dW straight into the weight's gradient (`grad_target`), the placed filters copied
        # from the stored rows
        return self._d_rows is not None and _rows_view(self.weight) is not None

    def program_steps(self, prog, grad: Tensor | None, diag: Tensor | None) -> None:
        """Where the one-call backward wrote dW into `grad_target`, what is left: the placed
        filters, copied from the weight's rows (`Program.placed_filters`)."""
        if diag is None:
            return
        rows = _rows_view(self.weight)  # (H_out, W_out, kh, kw * C_in, C_out)
        nxt = rows[1, :, 0] if rows.shape[0] > 1 else None
        prog.placed_filters(rows[0, :, 0], nxt, rows[0, :, 1] if rows.shape[2] > 1 else None,
                            diag)  # fmt: skip

    def add_grad(self, i: int, a: int, grad: Tensor) -> None:
        w_out, c_out, c_in, kh, kw = self.weight.shape[1:]
        # into the stored (kh, kw, C_in, C_out) order of (i, :, a)
        self.d_weight[i, :, :, :, a] = grad.view(w_out, c_out, kw, c_in).transpose(2, 3)


class _CachedRows(RowKernels):
    """Row filters already laid out by `weight_by_rows` (a locally connected layer's cache)."""

    def __init__(self, rows: Tensor) -> None:
        self.rows = rows

    def row(self, i: int) -> Tensor:
        return self.rows[i]

    def whole_source(self) -> tuple[str, Tensor]:
        return "rows", self.rows


def _rows_view(weight: Tensor) -> Tensor | None:
    """(H_out, W_out, C_out, C_in, kh, kw) as (H_out, W_out, kh, kw * C_in, C_out) without a
    copy, where it is stored in that order (`LocallyConnected2d`'s weight), else None."""
    h, w, c_out, c_in, kh, kw = weight.shape
    try:
        return weight.permute(0, 1, 4, 5, 3, 2).view(h, w, kh, kw * c_in, c_out)
    except RuntimeError:
        return None


def weight_by_rows(weight: Tensor) -> Tensor:
    """(H_out, W_out, C_out, C_in, kh, kw) -> (H_out, W_out, kh, kw * C_in, C_out), contiguous:
    each output row's filters in the layout the row products read (`locally_connected_inference`
    takes it; `LocallyConnected2d` caches it until its weight changes)."""
    h, w, c_out, c_in, kh, kw = weight.shape
    return weight.permute(0, 1, 4, 5, 3, 2).reshape(h, w, kh, kw * c_in, c_out)


def locally_connected_inference(
    x: Tensor, rows: Tensor, bias: Tensor | None, stride: Pair, padding: Padding4, dilation: Pair
) -> Tensor:
    """The locally connected product without autograd, for inference: the row products of
    the training path, with the weight already in their layout and the bias in the first one.

    Args:
        x: (N, C_in, H, W).
        rows: the weight in `weight_by_rows` layout (H_out, W_out, kh, kw * C_in, C_out), in
            the dtype the products run in (the caller casts it: under autocast, the autocast
            dtype, as `inference_dtype` says).
        bias: (C_out, H_out, W_out) or None.

    Returns (N, C_out, H_out, W_out) in `rows`' dtype and x's memory format. (It replaced a
    tap-by-tap form whose products contracted C_in only: 2.0-2.1x a convolution's forward
    against 1.4-1.6x, `docs/performance.md`.)
    """
    h_out, w_out, kh, kwc, _ = rows.shape
    kw = kwc // x.shape[1]
    # autocast must stay out of the way: the products run in the rows' dtype as given.
    with torch.autocast(x.device.type, enabled=False):
        xp = pad_nhwc(x, padding, rows.dtype)
        geo = _geometry(xp, (kh, kw), stride, dilation, (h_out, w_out))
        b = None if bias is None else bias.to(rows.dtype)
        return forward_rows(xp, _CachedRows(rows), geo, memory_format_of(x), bias=b)


def _bias_rows(bias: Tensor | None, dtype: torch.dtype, c_out: int, out: Pair) -> Tensor | None:
    """The bias map as forward_rows seeds each row's first product with: (C_out, H_out, W_out)."""
    return None if bias is None else bias.to(dtype).expand(c_out, *out)


def _bias_grad(ctx, grad_out: Tensor, index: int) -> Tensor | None:
    """dL/d(bias) (the batch sum of dL/dy) when input `index`, the bias, asks for it."""
    if not ctx.needs_input_grad[index]:
        return None
    return batch_sum_to(grad_out, ctx.bias_shape).to(ctx.bias_dtype)


def _input_grad(ctx) -> tuple[Padding4, Pair, torch.memory_format] | None:
    """What `backward_rows` needs to return dL/dx (the input's padding, size and layout), or
    None where x needs no gradient."""
    return (ctx.pad, ctx.size, ctx.fmt) if ctx.needs_input_grad[0] else None


def _keep_bias(ctx, bias: Tensor | None) -> None:
    if bias is not None:
        ctx.bias_shape, ctx.bias_dtype = bias.shape, bias.dtype


class _LRLCByKernels(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bases, weights, bias, pad, stride, dilation):
        xp = training_input(x, pad)
        out = conv_output_size(tuple(x.shape[-2:]), tuple(bases.shape[-2:]), stride, pad, dilation)
        geo = _geometry(xp, bases.shape[-2:], stride, dilation, out)
        # The input as the products read it (x itself for an unpadded channels_last batch,
        # else its re-laid-out copy): making the copy again in the backward would cost as
        # much time as keeping it costs memory.
        ctx.save_for_backward(xp, bases, weights)
        ctx.pad, ctx.geo, ctx.size, ctx.fmt = pad, geo, x.shape[-2:], memory_format_of(x)
        _keep_bias(ctx, bias)
        b = _bias_rows(bias, xp.dtype, bases.shape[1], out)
        return forward_rows(xp, BasisKernels(bases, weights), geo, ctx.fmt, bias=b)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        xp, bases, weights = ctx.saved_tensors
        kernels = BasisKernels(bases, weights, need_grads=True)
        dx = backward_rows(xp, grad_out, kernels, ctx.geo, _input_grad(ctx))
        dw = kernels.d_weights.to(weights.dtype)
        db = kernels.bases_grad(bases.shape).to(bases.dtype)
        return dx, db, dw, _bias_grad(ctx, grad_out, 3), None, None, None


class _LCByRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, pad, stride, dilation):
        xp = training_input(x, pad)
        geo = _geometry(xp, weight.shape[-2:], stride, dilation, weight.shape[:2])
        ctx.save_for_backward(xp, weight)
        ctx.pad, ctx.geo, ctx.size, ctx.fmt = pad, geo, x.shape[-2:], memory_format_of(x)
        _keep_bias(ctx, bias)
        b = _bias_rows(bias, xp.dtype, weight.shape[2], geo.out)
        return forward_rows(xp, _WeightKernels(weight), geo, ctx.fmt, bias=b)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        xp, weight = ctx.saved_tensors
        kernels = _WeightKernels(weight, need_grads=True)
        dx = backward_rows(xp, grad_out, kernels, ctx.geo, _input_grad(ctx))
        return dx, kernels.d_weight, _bias_grad(ctx, grad_out, 2), None, None, None


def _common_dtype(x: Tensor, w: Tensor) -> torch.dtype:
    """The dtype the products run in: as the other locally connected paths choose it."""
    return inference_dtype(x, torch.promote_types(x.dtype, w.dtype))


def lrlc_by_kernels(
    x: Tensor,
    bases: Tensor,
    weights: Tensor,
    pad: Padding4,
    stride: Pair,
    dilation: Pair,
    bias: Tensor | None = None,
) -> Tensor:
    """Algorithm 1's output for fixed combining weights, through per-position filters.

    x (N, C_in, H, W), bases (K, C_out, C_in, kh, kw), weights (K, H_out, W_out) (normalised),
    explicit padding (left, right, top, bottom) -> (N, C_out, H_out, W_out). `bias`, a map
    that broadcasts to (C_out, H_out, W_out) (Eq. 5's, or None), is added in each row's first
    product: the same values and gradients as adding it after, without a pass over the output.

    On a device with a plain-op engine (`_engines.DEVICE_ENGINES`: GPUs), Eq. 2's filters are
    built whole and that engine takes them, with autograd's backward.
    """
    engine = plain_engine(x.device)
    if engine is not None:
        return engine(x, per_position_filters(weights, bases), bias, stride, pad, dilation)
    dtype = _common_dtype(x, bases)
    with torch.autocast(x.device.type, enabled=False):
        return _LRLCByKernels.apply(
            x.to(dtype), bases.to(dtype), weights.to(dtype), bias, pad, stride, dilation
        )


def locally_connected_by_rows(
    x: Tensor,
    weight: Tensor,
    pad: Padding4,
    stride: Pair,
    dilation: Pair,
    bias: Tensor | None = None,
) -> Tensor:
    """The locally connected product: x (N, C_in, H, W), weight (H_out, W_out, C_out, C_in,
    kh, kw), explicit padding -> (N, C_out, H_out, W_out), plus `bias` (broadcasting to
    (C_out, H_out, W_out), or None) added in each row's first product. On a device with a
    plain-op engine (GPUs) that engine instead, with autograd's backward."""
    engine = plain_engine(x.device)
    if engine is not None:
        return engine(x, weight, bias, stride, pad, dilation)
    dtype = _common_dtype(x, weight)
    with torch.autocast(x.device.type, enabled=False):
        return _LCByRows.apply(x.to(dtype), weight.to(dtype), bias, pad, stride, dilation)


def path_estimates(
    rank: int,
    batch: int,
    stride: Pair,
    dilation: Pair,
    device: torch.device | str | None = None,
    costs: PathCosts | None = None,
) -> tuple[float, float]:
    """(Algorithm 1, kernel path) costs in units of one convolution's training step of the
    same size: Algorithm 1 costs K of them, the kernel path `PathCosts.kernel_cost` with the
    constants of `device` (`path_costs`) unless `costs` are given."""
    costs = costs or path_costs(device)
    scattered = "dilated" if dilation[1] != 1 else "strided" if stride[1] != 1 else None
    return float(rank), costs.kernel_cost(rank, max(batch, 1), scattered)


def choose_path(
    rank: int,
    batch: int,
    stride: Pair,
    dilation: Pair,
    device: torch.device | str | None = None,
    costs: PathCosts | None = None,
) -> str:
    """'basis' (Algorithm 1) or 'kernel' (per-position filters), whichever the cost model
    (`path_estimates`) says is cheaper. Where the two are close, the layers measure instead
    (`lrlc.functional.fastest_path`)."""
    basis, kernel = path_estimates(rank, batch, stride, dilation, device, costs)
    return "kernel" if kernel < basis else "basis"


__all__ = [
    "PATHS",
    "PathCosts",
    "choose_path",
    "path_costs",
    "path_estimates",
    "locally_connected_by_rows",
    "lrlc_by_kernels",
    "transposed_input_grad",
]

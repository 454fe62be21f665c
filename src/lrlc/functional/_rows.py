"""The locally connected product, row by row, with its own backward: the engine of the
rank-independent LRLC path and of `LocallyConnected2d` training.

For fixed combining weights an LRLC layer *is* a locally connected layer with the
per-position filter banks of Eq. 2, W[i, j] = sum_k w[k, i, j] F^k. Building W costs
H_out * W_out * K * C_out * C_in * kh * kw multiply-adds, small next to a batch's product,
which costs one convolution whatever K is. Here W is never stored whole: each output row's
filters are built just before that row's products and dropped after, and in the backward
each row's filter gradient dW[i] is turned at once into the gradients of the bases
(dF^k += sum_j w[k, i, j] dW[i, j]) and of the weights (dw[k, i, j] = <dW[i, j], F^k>).

The products read the input in NHWC order through overlapping strided views, so that for
one output row and one kernel row the patches of all W_out positions are a batch of
(N, kw * C_in) matrices without an unfold copy:

    forward   y[i, j]  = sum_a  P[i, a, j] @ W[i, j, a]            (N, kw*C) @ (kw*C, C_out)
    dW        dW[i, j, a] = P[i, a, j]^T @ g[i, j]                 (kw*C, N) @ (N, C_out)
    dX        stride 1: for each input row, over the zero-padded gradient row, the
              product with the filters re-laid out per input column (a transposed
              convolution, position by position); other strides: patch gradients added
              back kernel column by kernel column.

The forward is here; the backward (dW and dX, a row at a time) in `_rows_backward.py`.
Every batched product is one batched matmul over the W_out positions of a row (`row_bmm`:
`torch.bmm`, or on CPUs with AVX2 / AVX-512 in float32 the compiled kernel of `_native`),
which maps to a strided-batched GEMM on a GPU as on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ._native import pairs_available, pairs_bmm, row_bmm, rows_forward, runs_compiled
from ._native.layout import contiguous_nchw, transposed_copy
from ._ops import Padding4, Pair


@dataclass(frozen=True)
class RowGeometry:
    """Sizes of one product: kernel (kh, kw), stride, dilation, the padded input, output."""

    kh: int
    kw: int
    stride: Pair
    dilation: Pair
    padded: Pair  # (Hp, Wp)
    out: Pair  # (H_out, W_out)
    channels: int  # C_in

    @property
    def grouped(self) -> bool:
        """Whether one kernel row's kw taps are contiguous in NHWC (dilation 1 along W)."""
        return self.dilation[1] == 1

    def patches(self, xp: Tensor, i: int, a: int) -> list[Tensor]:
        """The patches of output row i, kernel row a, from the (Hp, N, Wp, C) input: one
        (W_out, N, kw*C) view, or kw (W_out, N, C) views when the kernel columns are dilated.
        xp may be any layout whose (W, C) block is dense: a contiguous (Hp, N, Wp, C) copy,
        where one row's N examples are Wp*C apart, or a permuted NHWC image, where they are a
        whole image apart (`training_input` says which is read when)."""
        _, n, _, c = xp.shape
        s_row, s_n, s_col, _ = xp.stride()
        r = i * self.stride[0] + a * self.dilation[0]
        base = xp.storage_offset() + r * s_row
        strides = (self.stride[1] * s_col, s_n, 1)
        if self.grouped:
            return [xp.as_strided((self.out[1], n, self.kw * c), strides, base)]
        shape = (self.out[1], n, c)
        return [
            xp.as_strided(shape, strides, base + b * self.dilation[1] * s_col)
            for b in range(self.kw)
        ]


def _split(w_a: Tensor, geo: RowGeometry) -> list[Tensor]:
    """One kernel row's filters (W_out, kw*C, C_out) -> the matrices that match `patches`."""
    if geo.grouped:
        return [w_a]
    c = geo.channels
    return [w_a[:, b * c : (b + 1) * c] for b in range(geo.kw)]


class _Patches:
    """The patches of output row i, kernel row a (`RowGeometry.patches`); where the products
    would copy those overlapping views themselves (`_copy_patches`), dense copies, each kept
    while later output rows still read it: an input row's patches serve up to kh output rows,
    and are then copied once instead of once for each."""

    def __init__(self, xp: Tensor, geo: RowGeometry) -> None:
        self.xp, self.geo = xp, geo
        self.dense = _copy_patches(xp)
        self._rows: dict[int, list[Tensor]] = {}  # by input row

    def __call__(self, i: int, a: int) -> list[Tensor]:
        if not self.dense:
            return self.geo.patches(self.xp, i, a)
        first = i * self.geo.stride[0]  # output row i and the later ones read no row above
        r = first + a * self.geo.dilation[0]
        if r not in self._rows:
            for done in [k for k in self._rows if k < first]:
                del self._rows[done]
            self._rows[r] = [p.contiguous() for p in self.geo.patches(self.xp, i, a)]
        return self._rows[r]


class RowKernels:
    """Where each output row's filters come from and where their gradients go.

    Rows are (W_out, kh, kw * C_in, C_out): position, kernel row, (kernel column, channel),
    output channel, the layout the products read.
    """

    def row(self, i: int) -> Tensor:
        """Row i's filters, where they are stored (a subclass that builds them overrides
        `kernel_row` and `kernel_row_transposed` instead)."""
        raise NotImplementedError

    def pair_shape(self) -> tuple[int, int] | None:
        """(kw * C_in, C_out) where `kernel_row_pairs` builds kernel rows interleaved by pairs
        along the reduction, for the bf16 kernel (`pairs_bmm`); None where it does not."""
        return None

    def kernel_row_pairs(self, i: int, a: int) -> Tensor:
        """Kernel row a of row i's filters as (W_out, kw*C_in/2, C_out, 2), where
        `pair_shape` is not None."""
        raise NotImplementedError

    def whole_source(self) -> tuple[str, Tensor, ...] | None:
        """Every row's filters for the whole forward in one compiled call (`rows_forward`):
        ("rows", W (H_out, W_out, kh, kw*C_in, C_out)) where they are stored, ("basis", w (K,
        H_out, W_out), F (K, kh, kw*C_in*C_out), F packed in panels or None) where it builds
        them (Eq. 2), or None."""
        return None

    def add_grad(self, i: int, a: int, grad: Tensor) -> None:
        """grad: (W_out, C_out, kw * C_in), dL/dW of row i, kernel row a, transposed (the
        order `_row_filter_grad`'s products write fastest), valid only during the call (its
        buffer is reused for the next kernel row, so that it is read from cache)."""
        raise NotImplementedError

    def takes_program(self) -> bool:
        """Whether `program_steps` can describe this source's part of the backward (asked
        before the one-call backward allocates anything)."""
        return False

    def program_steps(self, prog, grad: Tensor, diag: Tensor | None) -> None:
        """Add this source's part of the backward to `prog` (`_native.program.Program`):
        where the filter gradients go and the placed filters, at every (i, a); where a step
        cannot be built it says so (`prog.ok = False`), and the row loop runs."""
        prog.ok = False

    def program_scattered_filters(self, prog, out: Tensor) -> None:
        """Add to `prog` the steps that build each (i, a)'s `kernel_row_scattered` into out
        (W_out, C_out * kw * C_in), for strided dL/dx in the one-call backward; where it
        cannot, `prog.ok = False` (the row loop runs)."""
        prog.ok = False

    def grad_target(self, i: int, a: int) -> Tensor | None:
        """Where dL/dW of row i, kernel row a may be written directly instead of handed to
        `add_grad`: (W_out, kw * C_in, C_out) with contiguous columns, or None."""
        return None

    def kernel_row(self, i: int, a: int) -> Tensor:
        """Kernel row a of row i's filters, (W_out, kw * C_in, C_out), valid until the next
        call (a subclass may build it into one reused buffer)."""
        return self.row(i)[:, a]

    def kernel_row_scattered(self, i: int, a: int) -> Tensor:
        """Kernel row a of row i's filters as (W_out, C_out, kw * C_in), what the scattered
        dL/dx multiplies dL/dy's row by (valid until the next call); the compiled products
        take it where its columns are contiguous (a subclass that builds it in that order)."""
        return self.kernel_row(i, a).transpose(1, 2)

    def place_transposed(self, i: int, a: int, diag: Tensor) -> None:
        """Write kernel row a of row i's filters, transposed, into diag (Wp, kw, C_out, C_in)
        by input column (`_diagonal_filters`); a subclass that builds them may write them
        there directly."""
        _diagonal_filters(diag, self.kernel_row_transposed(i, a, diag.shape[1]))

    def kernel_row_transposed(self, i: int, a: int, kw: int) -> Tensor:
        """Kernel row a of row i's filters as (W_out, kw, C_out, C_in), what dL/dx multiplies
        with: a view of `kernel_row`, unless a subclass builds them in that order directly."""
        w = self.kernel_row(i, a)
        w_out, kwc, c_out = w.shape
        return w.view(w_out, kw, kwc // kw, c_out).transpose(2, 3)


def forward_rows(
    xp: Tensor,
    kernels: RowKernels,
    geo: RowGeometry,
    memory_format: torch.memory_format,
    bias: Tensor | None = None,
) -> Tensor:
    """y (N, C_out, H_out, W_out) from the padded (Hp, N, Wp, C) input, dense in
    `memory_format` (the input's): by one compiled call for all rows where it runs
    (`_forward_whole`), else row by row, each row's product written straight into its place.
    A (C_out, H_out, W_out) `bias` seeds each row's first product, which saves a pass over
    the whole output (inference, and training: the autograd Functions return its gradient,
    the batch sum of dL/dy)."""
    n = xp.shape[1]
    channels_last = memory_format == torch.channels_last
    h_out, w_out = geo.out
    if _pairs_apply(xp, kernels, geo):
        return _forward_rows_pairs(xp, kernels, geo, channels_last, bias)
    # (H_out, W_out, C_out), dense: each row's products start from its row of the bias
    bias_rows = None if bias is None else bias.permute(1, 2, 0).contiguous()
    if geo.grouped:
        out = _forward_whole(xp, kernels, geo, bias_rows)
        if out is not None:
            out = out.permute(0, 3, 1, 2)
            # NCHW: one transposing copy of the whole output, where the row loop made one
            # per row
            return out if channels_last else contiguous_nchw(out)
    out: Tensor | None = None
    patches = _Patches(xp, geo)
    buf: Tensor | None = None  # (W_out, N, C_out), where a row's products sum, row to row
    direct = False  # whether they sum in the output itself (`row_bmm`'s compiled kernel)
    for i in range(h_out):
        acc = None
        for a in range(geo.kh):
            for p, m in zip(patches(i, a), _split(kernels.kernel_row(i, a), geo)):
                if out is None:
                    c_out = m.shape[-1]
                    out = _new_output(p, n, c_out, geo, channels_last)
                    # A channels_last output row, (N, W_out, C_out), seen as (W_out, N, C_out)
                    # has contiguous channels: the compiled kernel writes into it, which saves
                    # a copy of the output (torch's product would make one anyway).
                    direct = channels_last and runs_compiled(p, m, out[:, 0].transpose(0, 1))
                    if not direct:
                        buf = p.new_empty((w_out, n, c_out))
                if acc is None:
                    acc = out[:, i].transpose(0, 1) if direct else buf
                    row_bmm(p, m, acc, bias=None if bias_rows is None else bias_rows[i])
                else:
                    row_bmm(p, m, acc, accumulate=True)
        if not direct:
            _write_row(out, i, acc, channels_last)
    return out.permute(0, 3, 1, 2) if channels_last else out


def _forward_whole(
    xp: Tensor, kernels: RowKernels, geo: RowGeometry, bias_rows: Tensor | None
) -> Tensor | None:
    """The channels_last output (N, H_out, W_out, C_out) by one compiled call for every row
    (`rows_forward`: no Python between the products, each thread building and multiplying
    its own positions' filters), or None where that does not run."""
    source = kernels.whole_source()
    if source is None:
        return None
    kernel = (geo.kh, geo.kw)
    return rows_forward(xp, kernel, geo.stride, geo.dilation, geo.out, source, bias_rows)


def _new_output(like: Tensor, n: int, c_out: int, geo: RowGeometry, channels_last: bool) -> Tensor:
    """The output's storage, (N, H_out, W_out, C_out) for channels_last, else NCHW."""
    h_out, w_out = geo.out
    shape = (n, h_out, w_out, c_out) if channels_last else (n, c_out, h_out, w_out)
    return like.new_empty(shape)


def _write_row(out: Tensor, i: int, acc: Tensor, channels_last: bool) -> None:
    """Output row i from a row's sums acc (W_out, N, C_out), cast to out's dtype."""
    if channels_last:
        out[:, i] = acc.transpose(0, 1)
    else:
        transposed_copy(out[:, :, i], acc.permute(1, 2, 0))


def _pairs_apply(xp: Tensor, kernels: RowKernels, geo: RowGeometry) -> bool:
    """Whether the forward runs through the compiled bf16 kernel (`pairs_bmm`): bf16 products
    on a CPU with AVX512-BF16, filters the kernels build interleaved by pairs, one kernel
    row's taps contiguous, an even kw*C_in and C_out a multiple of 16."""
    if xp.dtype != torch.bfloat16 or xp.device.type != "cpu" or not geo.grouped:
        return False
    shape = kernels.pair_shape()
    return shape is not None and pairs_available(*shape)


def _forward_rows_pairs(
    xp: Tensor, kernels: RowKernels, geo: RowGeometry, channels_last: bool, bias: Tensor | None
) -> Tensor:
    """`forward_rows` in bf16 through `pairs_bmm`: the patches read in place (oneDNN's bf16
    products needed dense copies), each row's kh products summed in float32 from the bias on,
    and rounded to bf16 once, as the row is written into the output."""
    n = xp.shape[1]
    h_out, w_out = geo.out
    c_out = kernels.pair_shape()[1]
    acc = xp.new_empty((w_out, n, c_out), dtype=torch.float32)
    bias_rows = None if bias is None else bias.permute(1, 2, 0).to(torch.float32).contiguous()
    out = _new_output(xp, n, c_out, geo, channels_last)
    for i in range(h_out):
        for a in range(geo.kh):
            first_bias = bias_rows[i] if a == 0 and bias_rows is not None else None
            pairs_bmm(geo.patches(xp, i, a)[0], kernels.kernel_row_pairs(i, a), acc,
                      accumulate=a > 0, bias=first_bias)  # fmt: skip
        _write_row(out, i, acc, channels_last)
    return out.permute(0, 3, 1, 2) if channels_last else out


def transposed_input_grad(geo: RowGeometry) -> bool:
    """Whether dL/dx takes the transposed product (stride 1, undilated columns)."""
    return geo.stride[1] == 1 and geo.grouped


def _copy_patches(xp: Tensor) -> bool:
    """Whether to copy overlapping views before their products: the patches, and dL/dx's
    gradient window (once for its kh products, where oneDNN copied it for each). On a CPU,
    torch runs bf16 and fp16 products through oneDNN, which copies a non-contiguous operand
    itself; for the overlapping patch views its copy made the product 3x slower (N = 512,
    Intel Xeon with AMX, the patches then transposed: 3.5 against 1.2 ms, copy included)
    where copying them first in their own order is cheap; dL/dx's products took 192 -> 108 ms
    over 3 steps (K = 4). The forward's and dW's patches are copied once per input row and
    serve the kh output rows that read it (`_Patches`; copied once per product instead, the
    forward's gained nothing). float32 (MKL's GEMM reads the strided view directly) and GPUs
    read them as they are."""
    return xp.device.type == "cpu" and xp.dtype in (torch.bfloat16, torch.float16)


def _diagonal_filters(diag: Tensor, w_t: Tensor) -> None:
    """Write one kernel row's transposed filters w_t (W_out, kw, C_out, C) into diag (Wp, kw,
    C_out, C) by input column: diag[x, b'] = w_t[x + b' - (kw - 1), kw - 1 - b'], the filter
    that carries output column x + b' - (kw - 1) back to input column x through the reversed
    tap b' (zero where that output column is off the grid, left as it is). Then the
    (Wp, kw * C_out, C) operand is a view, and one copy of the filters is all."""
    w_out, kw = w_t.shape[:2]
    for b in range(kw):
        lo = kw - 1 - b
        diag[lo : lo + w_out, b] = w_t[:, kw - 1 - b]


def _pad_into(out: Tensor, x: Tensor, pad: Padding4) -> None:
    """Write (N, C, H, W) x zero-padded into `out`, seen as (N, Hp, Wp, C) in any memory
    order, in one pass: zeros only where the copy does not write. An NCHW x goes through the
    compiled transposes (`transposed_copy`: 128 x 64 x 24 x 24 float32 from memory in 3.4 ms
    where torch's strided copy took 4.3; AMD EPYC Zen 4, 2 threads)."""
    left, _, top, _ = pad
    h, w = x.shape[-2:]
    out[:, :top] = 0
    out[:, top + h :] = 0
    out[:, top : top + h, :left] = 0
    out[:, top : top + h, left + w :] = 0
    transposed_copy(out[:, top : top + h, left : left + w], x.permute(0, 2, 3, 1))


def _padded_size(x: Tensor, pad: Padding4) -> tuple[int, int, int, int]:
    """(N, Hp, Wp, C) of x (N, C, H, W) padded by (left, right, top, bottom)."""
    left, right, top, bottom = pad
    n, c, h, w = x.shape
    return n, h + top + bottom, w + left + right, c


def pad_hnwc(x: Tensor, pad: Padding4) -> Tensor:
    """(N, C, H, W) -> zero-padded (Hp, N, Wp, C), contiguous, in one pass over x."""
    n, hp, wp, c = _padded_size(x, pad)
    out = x.new_empty((hp, n, wp, c))
    _pad_into(out.transpose(0, 1), x, pad)
    return out


def training_input(x: Tensor, pad: Padding4) -> Tensor:
    """The (Hp, N, Wp, C) input the training products read and the backward keeps: x's own
    storage where it is an unpadded channels_last batch (a view, no copy), else the
    contiguous copy of `pad_hnwc`. Reading the examples a whole image apart made dW's
    products 13% slower at N = 512 in float32 on an Intel Xeon, about what the copy costs,
    and cost nothing measurable on an AMD Zen 4 (session 16: 0.95-1.01x the step with the
    copy, float32 and bf16); the copy is a whole input's worth of memory (channels_last
    float32 on the Zen 4: 1.36 -> 1.08x a convolution's peak at N = 512). An NCHW input is
    copied either way, into the order the Xeon read faster."""
    if not any(pad) and x.is_contiguous(memory_format=torch.channels_last):
        return x.permute(2, 0, 3, 1)
    return pad_hnwc(x, pad)


def pad_nhwc(x: Tensor, pad: Padding4, dtype: torch.dtype) -> Tensor:
    """(N, C, H, W) -> zero-padded (Hp, N, Wp, C) view of a dense NHWC image in `dtype`, what
    `RowGeometry.patches` reads: x itself when it is channels_last, unpadded and in `dtype`,
    else one pass over x (cast in the same copy)."""
    if not any(pad) and x.dtype == dtype and x.is_contiguous(memory_format=torch.channels_last):
        return x.permute(2, 0, 3, 1)
    out = x.new_empty(_padded_size(x, pad), dtype=dtype)
    _pad_into(out, x, pad)
    return out.transpose(0, 1)

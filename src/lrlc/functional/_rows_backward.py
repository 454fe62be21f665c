"""The backward of the row products of `_rows.py`: each output row's filter gradient dW[i],
handed to the kernels at once, and dL/dx.

Both read dL/dy one output row at a time, so neither holds a re-laid-out copy of all of it:
each row is copied, in the products' dtype, into one reused (N, W_out + 2 m, C_out) buffer,
zero-padded by m = kw - 1 columns on each side where the transposed input gradient reads it.
For stride 1 along W, d(xp) is also kept only a few input rows at a time
(`_InputGradRows`): an input row is complete once the last output row that reads it is done,
and is then written into dL/dx and its buffer reused. Whole, the two copies were 1.86-2.07x a
channels_last convolution's peak memory at N = 128 and 512 (AMD EPYC Zen 4, float32, session
16), each as large as the input or the output.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._backward_program import backward_in_one_call
from ._input_grads import InputGrad, scatter_view, unpad_grad
from ._native import row_bmm, runs_compiled
from ._native.layout import transposed_copy
from ._ops import Padding4, Pair
from ._rows import RowGeometry, RowKernels, _copy_patches, _Patches, transposed_input_grad


class _GradRows:
    """dL/dy (N, C_out, H_out, W_out), any layout and dtype, one output row at a time: row i as
    (N, W_out + 2 m, C_out) in `dtype`, zero in the m columns on each side. One buffer serves
    every row (valid until the next call)."""

    def __init__(self, grad_out: Tensor, dtype: torch.dtype, margin: int) -> None:
        n, c_out, _, w_out = grad_out.shape
        self.rows = grad_out.permute(2, 0, 3, 1)  # (H_out, N, W_out, C_out), a view
        self.buf = grad_out.new_zeros((n, w_out + 2 * margin, c_out), dtype=dtype)
        self.inner = self.buf[:, margin : margin + w_out]

    def __call__(self, i: int) -> Tensor:
        self.inner.copy_(self.rows[i])  # the cast, if any, in the same pass
        return self.buf


class _InputGradRows:
    """d(xp) of the transposed input gradient, by padded input row, a few rows at a time.

    `add(r, ...)` adds a product to input row r, kept in a (Wp, N, C) accumulator (`row(r)`,
    zeroed on first use) or written into dL/dx directly; `flush_below(r)` writes every row
    above r into dL/dx (the padding cropped, in the input's layout) and
    reuses their buffers; `finish()` flushes the rest and returns dL/dx (N, C, H, W)."""

    def __init__(self, xp: Tensor, pad: Padding4, size: Pair, fmt: torch.memory_format) -> None:
        self.hp, n, wp, c = xp.shape
        self.left, _, self.top, _ = pad
        self.h, self.w = size
        self.channels_last = fmt == torch.channels_last
        # dL/dx as the layers before wrote x (a ReLU's backward over a gradient and an input
        # of different layouts took 3-5x its time): NHWC storage for channels_last.
        shape = (n, self.h, self.w, c) if self.channels_last else (n, c, self.h, self.w)
        self.dx = xp.new_empty(shape)
        self.row_shape = (wp, n, c)
        self.live: dict[int, Tensor] = {}
        self.spare: list[Tensor] = []
        self.done = 0  # rows above this one are written
        self.direct: bool | None = None  # whether `add` writes into dL/dx itself
        self.written: set[int] = set()  # its rows that have their first product

    def row(self, r: int) -> Tensor:
        if r not in self.live:
            buf = self.spare.pop() if self.spare else self.dx.new_empty(self.row_shape)
            self.live[r] = buf.zero_()
        return self.live[r]

    def add(self, r: int, g_win: Tensor, filters: Tensor) -> None:
        """d(xp)[r] += the transposed product of g_win (Wp, N, kw*C_out) and the filters
        placed by input column (Wp, kw*C_out, C). Where the compiled kernel runs and dL/dx
        is channels_last, straight into dL/dx's row (N, W, C): only the unpadded columns are
        computed, rows in the padding not at all, and no buffer is copied out."""
        y = r - self.top
        cols = slice(self.left, self.left + self.w)
        if self.direct is None:  # decided once, on the first row's operands
            dst = self.dx[:, min(max(y, 0), self.h - 1)].transpose(0, 1)
            self.direct = self.channels_last and runs_compiled(g_win[cols], filters[cols], dst)
        if not self.direct:
            row_bmm(g_win, filters, self.row(r), accumulate=True)
        elif 0 <= y < self.h:
            dst = self.dx[:, y].transpose(0, 1)  # (W, N, C)
            row_bmm(g_win[cols], filters[cols], dst, accumulate=r in self.written)
            self.written.add(r)

    def flush_below(self, end: int) -> None:
        for r in range(self.done, min(end, self.hp)):
            if self.direct:
                y = r - self.top
                if r not in self.written and 0 <= y < self.h:
                    self.dx[:, y].zero_()  # no output row reads input row y
                continue
            self._write(r, self.live.pop(r, None))
        self.done = max(self.done, end)

    def _write(self, r: int, buf: Tensor | None) -> None:
        y = r - self.top
        if 0 <= y < self.h:
            dst = self.dx[:, y] if self.channels_last else self.dx[:, :, y]  # (N,W,C) / (N,C,W)
            if buf is None:  # no output row reads this input row
                dst.zero_()
            else:
                src = buf[self.left : self.left + self.w].transpose(0, 1)  # (N, W, C)
                if self.channels_last:
                    dst.copy_(src)
                else:
                    transposed_copy(dst, src.transpose(1, 2))
        if buf is not None:
            self.spare.append(buf)

    def finish(self) -> Tensor:
        self.flush_below(self.hp)
        return self.dx.permute(0, 3, 1, 2) if self.channels_last else self.dx


def backward_rows(
    xp: Tensor, grad_out: Tensor, kernels: RowKernels, geo: RowGeometry, input_grad: InputGrad
) -> Tensor | None:
    """Send each row's filter gradient to `kernels.add_grad`; return dL/dx if asked for.

    xp: the padded (Hp, N, Wp, C) input of the forward; grad_out: dL/dy (N, C_out, H_out,
    W_out). `input_grad`: (padding, the input's (H, W), its memory format) to return dL/dx
    (N, C, H, W) dense in that format, or None. One pass over the output rows: each row's
    filters are built once and serve both of its products."""
    ran, dx = backward_in_one_call(xp, grad_out, kernels, geo, input_grad)
    if ran:
        return dx
    h_out, w_out = geo.out
    transposed = input_grad is not None and transposed_input_grad(geo)
    margin = geo.kw - 1 if transposed else 0
    grads = _GradRows(grad_out, xp.dtype, margin)
    patches = _Patches(xp, geo)
    rows = dxp = diag = None
    if transposed:
        rows = _InputGradRows(xp, *input_grad)
        # (Wp, kw, C_out, C): one kernel row's filters per input column (`_diagonal_filters`);
        # the entries off the grid are the same for every row, so zeroed once here.
        diag = xp.new_zeros((xp.shape[2], geo.kw, grad_out.shape[1], xp.shape[3]))
    elif input_grad is not None:
        dxp = torch.zeros_like(xp)
    for i in range(h_out):
        gpad = grads(i)
        g = gpad[:, margin : margin + w_out].transpose(0, 1)  # (W_out, N, C_out)
        _row_filter_grad(patches, g, geo, i, kernels)
        if rows is not None:
            _add_input_grad_transposed(rows, gpad, kernels, diag, geo, i)
            rows.flush_below((i + 1) * geo.stride[0])  # no later output row reads above
        elif dxp is not None:
            _add_input_grad_scattered(dxp, g, kernels, geo, i)
    if rows is not None:
        return rows.finish()
    if dxp is None:
        return None
    return unpad_grad(dxp.transpose(0, 1), *input_grad)


def _row_filter_grad(
    patches: _Patches, g: Tensor, geo: RowGeometry, i: int, kernels: RowKernels
) -> None:
    """dW[i, j, a]^T = g[i, j]^T @ P[i, a, j] for each kernel row a, as (W_out, C_out, kw*C),
    handed to `kernels.add_grad` at once: one kernel row's gradients (1 MB at 64 channels and
    W_out = 22) are then still in cache when dF and dw read them, where a whole row's (3 MB)
    were not. Transposed because the GEMM runs faster with the patches as its right operand
    than transposed on its left (Intel Xeon, float32, one row's products: 122-135 against 190
    ms at N = 512, 28-30 against 38 at N = 128)."""
    c = geo.channels
    d_a = g.new_empty((geo.out[1], g.shape[-1], geo.kw * c))
    # (W_out, C_out, N), copied for torch's products: read through a transposed view, they ran
    # 9% slower in float32 and 17-30% in bf16 (Intel Xeon, one row's products at N = 128 and
    # 512). The compiled kernel reads the view as fast (a copy of dL/dy saved).
    g_t = g.transpose(1, 2)
    if not runs_compiled(g_t, patches(i, 0)[0], d_a[..., :c] if not geo.grouped else d_a):
        g_t = g_t.contiguous()
    for a in range(geo.kh):
        pieces = patches(i, a)
        target = kernels.grad_target(i, a) if geo.grouped else None
        if target is not None and runs_compiled(pieces[0].transpose(1, 2), g, target):
            # (kw*C, N) @ (N, C_out) straight into a stored weight's gradient, in its own
            # layout: the same speed through the compiled kernel as the product below
            # (316-326 against 318 us a row at N = 128), and no transposing copy of each
            # kernel row's gradient (6.7 ms a step at 22 x 22, 64 channels; Zen 4).
            row_bmm(pieces[0].transpose(1, 2), g, target)
            continue
        if geo.grouped:
            row_bmm(g_t, pieces[0], d_a)
        else:
            for b, p in enumerate(pieces):
                row_bmm(g_t, p, d_a[:, :, b * c : (b + 1) * c])
        kernels.add_grad(i, a, d_a)


def _add_input_grad_scattered(
    dxp: Tensor, g: Tensor, kernels: RowKernels, geo: RowGeometry, i: int
) -> None:
    """Add row i's patch gradients back where its patches were read (any stride, dilation).
    g: row i of dL/dy, (W_out, N, C_out); dxp: d(xp), (Hp, N, Wp, C)."""
    c, (sh, sw), (dh, dw) = geo.channels, geo.stride, geo.dilation
    w_out, kw = geo.out[1], geo.kw
    for a in range(geo.kh):
        row = dxp[i * sh + a * dh]  # (N, Wp, C)
        if row.stride(1) == c:
            filters = kernels.kernel_row_scattered(i, a)
            if geo.grouped:
                _scatter_by_products(row, g, filters, sw, kw, c)
            else:
                _scatter_by_taps(row, g, filters, sw, dw, kw, c)
            continue
        dp = torch.bmm(g, kernels.kernel_row(i, a).transpose(1, 2))  # (W_out, N, kw*C)
        for b in range(kw):
            cols = slice(b * dw, b * dw + sw * (w_out - 1) + 1, sw)
            row[:, cols] += dp[:, :, b * c : (b + 1) * c].transpose(0, 1)


def _scatter_by_products(row: Tensor, g: Tensor, filters: Tensor, sw: int, kw: int, c: int) -> None:
    """row (N, Wp, C), (W, C) dense, += each position j's g[j] @ filters[j] (N, kw * C) at
    its input columns j * sw .. j * sw + kw - 1 (undilated: one contiguous block of kw * C).
    Seen as (W_out, N, kw * C) with positions sw * C apart, the row is the products' output
    itself; positions whose blocks overlap (sw < kw) go in separate products, every
    ceil(kw / sw)-th position in one, so that no two of a product's positions (which its
    threads share out) write the same column. Through the compiled kernel where it runs
    (filters (W_out, C_out, kw * C) contiguous, from `kernel_row_scattered`): no (W_out, N,
    kw * C) buffer and no kw strided adds per kernel row (stride 2, N = 128, K = 4: the
    step 0.83 of the old at N = 128, 0.74-0.78 at N = 512, alternating; AMD EPYC Zen 4)."""
    w_out, n = g.shape[:2]
    out = scatter_view(row, w_out, n, kw * c, sw)
    step = -(-kw // sw)
    for first in range(min(step, w_out)):
        js = slice(first, w_out, step)
        row_bmm(g[js], filters[js], out[js], accumulate=True)


def _scatter_by_taps(
    row: Tensor, g: Tensor, filters: Tensor, sw: int, dw: int, kw: int, c: int
) -> None:
    """`_scatter_by_products` for dilated columns, where a position's kw taps lie dw columns
    apart: one product per tap b, each position's C columns at j * sw + b * dw (no two
    positions of a tap share a column; the taps go one after another). Dilation 2, N = 128:
    0.80-0.83 of the step with a buffer and strided adds (AMD EPYC Zen 4, alternating)."""
    w_out, n = g.shape[:2]
    for b in range(kw):
        out = row.as_strided(
            (w_out, n, c), (sw * c, row.stride(0), 1), row.storage_offset() + b * dw * c
        )
        row_bmm(g, filters[:, :, b * c : (b + 1) * c], out, accumulate=True)


def _add_input_grad_transposed(
    rows: _InputGradRows,
    gpad: Tensor,
    kernels: RowKernels,
    diag: Tensor,
    geo: RowGeometry,
    i: int,
) -> None:
    """Row i's share of d(xp), for stride 1 along W: for each kernel row a, input row
    i * sh + a * dh gets one batched product over its input columns, reading the zero-padded
    gradient row through a strided view, with the filters placed per input column by
    `kernels.place_transposed` (one kernel row at a time, so that they stay in cache). gpad:
    row i of dL/dy, (N, W_out + 2(kw - 1), C_out)."""
    wp, c = diag.shape[0], diag.shape[-1]
    n, wg, c_out = gpad.shape
    kw = geo.kw
    g_win = gpad.as_strided((wp, n, kw * c_out), (c_out, wg * c_out, 1), gpad.storage_offset())
    if _copy_patches(gpad):
        g_win = g_win.contiguous()  # once for the kh products below (`_copy_patches`)
    for a in range(geo.kh):
        kernels.place_transposed(i, a, diag)
        rows.add(i * geo.stride[0] + a * geo.dilation[0], g_win, diag.view(wp, kw * c_out, c))

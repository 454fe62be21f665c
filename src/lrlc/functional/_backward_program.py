"""The kernel path's backward in one compiled call (`_native.program`): the row loop of
`_rows_backward` as a program of steps at every output row i and kernel row a, for float32
and undilated geometries (stride 1 with dL/dx by the transposed product; strided ones with
dL/dx by products accumulated into d(xp)). Where a step cannot be built the program does not
run and the caller's row loop does."""

from __future__ import annotations

import torch
from torch import Tensor

from ._input_grads import InputGrad, scatter_view, unpad_grad
from ._native import column_multiple
from ._native.layout import contiguous_nchw
from ._native.program import BETA_ROW_SEEN, Program
from ._rows import RowGeometry, RowKernels


def backward_in_one_call(
    xp: Tensor, grad_out: Tensor, kernels: RowKernels, geo: RowGeometry, input_grad: InputGrad
) -> tuple[bool, Tensor | None]:
    """`backward_rows`' loop as one compiled call (`_native.program`): the same steps at
    each output row i and kernel row a (dL/dy's row copied at a = 0; the dW products; dF, dw
    and the placed filters from `kernels.program_steps`; dL/dx's row products), with barriers
    where a step reads what another thread wrote. For stride 1 (strided geometries:
    `_strided_in_one_call`), undilated, float32 and a source with steps
    (`kernels.takes_program()`); dL/dx, where asked for (not for a
    network's first layer), is written channels_last and copied once where the input is NCHW
    (the row loop's strided writes of each input row took longer: N = 128, K = 4, 1.50 ->
    1.42x a convolution; N = 512 1.34 -> 1.28x, AMD EPYC Zen 4). Returns (whether it ran,
    dL/dx); where it did not, nothing was done and the loop runs."""
    if geo.dilation != (1, 1) or not kernels.takes_program():
        return False, None
    if xp.dtype is not torch.float32 or not column_multiple():
        return False, None
    if geo.stride != (1, 1):
        return _strided_in_one_call(xp, grad_out, kernels, geo, input_grad)
    w_out, kw, c = geo.out[1], geo.kw, geo.channels
    n, c_out = grad_out.shape[:2]
    m = kw - 1
    wg = w_out + 2 * m
    gpad = xp.new_zeros((n, wg, c_out))  # dL/dy's row, zero-margined for the transposed dL/dx
    prog, grad = _gradient_steps(xp, grad_out, kernels, geo, gpad[:, m : m + w_out])
    diag = None if input_grad is None else xp.new_zeros((xp.shape[2], kw, c_out, c))
    kernels.program_steps(prog, grad, diag)
    if input_grad is None:  # the first layer's input: no dL/dx, no placed filters
        return prog.run(), None
    prog.barrier()  # dL/dx reads every position's placed filters
    pad, (h, w), fmt = input_grad
    left, _, top, _ = pad
    dx = xp.new_empty((n, h, w, c))
    wp = xp.shape[2]
    g_win = gpad.as_strided((wp, n, kw * c_out), (c_out, wg * c_out, 1), gpad.storage_offset())
    cols = slice(left, left + w)
    prog.product(
        (w, n, kw * c_out, c), (g_win[cols], diag.view(wp, kw * c_out, c)[cols],
        dx[:, 0].transpose(0, 1)), None, None, beta_rule=BETA_ROW_SEEN,
        rows_of_i_plus_a=(top, h), out_rows=(-top, dx.stride(1)),
    )  # fmt: skip
    if not prog.run():
        return False, None
    dx = dx.permute(0, 3, 1, 2)
    return True, dx if fmt == torch.channels_last else contiguous_nchw(dx)


def _strided_in_one_call(
    xp: Tensor, grad_out: Tensor, kernels: RowKernels, geo: RowGeometry, input_grad: InputGrad
) -> tuple[bool, Tensor | None]:
    """`backward_in_one_call` for strided geometries (undilated): dL/dx as the row loop's
    `_scatter_by_products`, each (i, a)'s filters built in their order into one buffer
    (`kernels.program_scattered_filters`), then the products accumulated into d(xp)'s input
    row i * sh + a, every ceil(kw / sw)-th position in one, with a barrier between them.
    Stride 2, K = 4 / 16: 0.89 / 0.90 of the row loop's step at N = 128, 0.97 / 0.96 at N =
    512 (AMD EPYC Zen 4, alternating in one process)."""
    w_out, kw, c = geo.out[1], geo.kw, geo.channels
    (sh, sw), n, c_out = geo.stride, *grad_out.shape[:2]
    g = xp.new_zeros((n, w_out, c_out))  # dL/dy's row
    prog, grad = _gradient_steps(xp, grad_out, kernels, geo, g)
    kernels.program_steps(prog, grad, None)
    if input_grad is None:  # the first layer's input: no dL/dx
        return prog.run(), None
    filters = xp.new_empty((w_out, c_out * kw * c))
    kernels.program_scattered_filters(prog, filters)
    if not prog.ok or xp.stride(2) != c:  # (a locally connected weight: the row loop)
        return False, None
    dxp = torch.zeros_like(xp)  # (Hp, N, Wp, C), as xp
    outs = [scatter_view(dxp[r], w_out, n, kw * c, sw) if r < dxp.shape[0] else None
            for r in (0, sh, 1)]  # fmt: skip
    g_pos, f_pos = g.transpose(0, 1), filters.view(w_out, c_out, kw * c)
    step = -(-kw // sw)
    for first in range(min(step, w_out)):
        js = slice(first, w_out, step)
        at = [None if o is None else (g_pos[js], f_pos[js], o[js]) for o in outs]
        prog.barrier()  # the filters built; the positions before these written
        prog.product((len(range(first, w_out, step)), n, c_out, kw * c), *at, beta=True)
    if not prog.run():
        return False, None
    return True, unpad_grad(dxp.transpose(0, 1), *input_grad)


def _gradient_steps(
    xp: Tensor, grad_out: Tensor, kernels: RowKernels, geo: RowGeometry, g: Tensor
) -> tuple[Program, Tensor | None]:
    """A program's first steps, what both one-call backward passes do alike: dL/dy's row
    copied into g (N, W_out, C_out) at a = 0, then the dW products (`_filter_grads`), with
    barriers around them. Returns the program and the filter gradients' buffer (or None)."""
    h_out, kh = geo.out[0], geo.kh
    rows = grad_out.permute(2, 0, 3, 1)  # (H_out, N, W_out, C_out)
    prog = Program(h_out, kh)
    prog.barrier()  # the previous (i, a)'s dL/dx products read g
    prog.copy_rows(rows[0], rows[1] if h_out > 1 else None, g)
    prog.barrier()
    patches = [geo.patches(xp, i, a)[0] if i < h_out and a < kh else None
               for i, a in ((0, 0), (1, 0), (0, 1))]  # fmt: skip
    grad = _filter_grads(prog, g, patches, kernels, geo)
    prog.barrier()  # dF reads every position's filter gradients
    return prog, grad


def _filter_grads(
    prog: Program, g: Tensor, patches: list[Tensor | None], kernels: RowKernels, geo: RowGeometry
) -> Tensor | None:
    """The one-call backward's dW products at every (i, a), from dL/dy's row g (N, W_out,
    C_out) and the patches at (0, 0), (1, 0), (0, 1) (None where there is no such row):
    straight into a stored weight's
    gradient where the source has one (`grad_target`, as `_row_filter_grad`; returns None),
    else into one (W_out, C_out, kw * C) buffer that the source's steps read (returned as
    (W_out, X))."""
    w_out, kw, c = geo.out[1], geo.kw, geo.channels
    n, c_out = g.shape[0], g.shape[2]
    if kernels.grad_target(0, 0) is not None:  # (kw*C, N) @ (N, C_out) a position, in place
        g_rows = g.transpose(0, 1)  # (W_out, N, C_out)
        at = [None if p is None else (p.transpose(1, 2), g_rows, kernels.grad_target(*ia))
              for p, ia in zip(patches, ((0, 0), (1, 0), (0, 1)), strict=True)]  # fmt: skip
        prog.product((w_out, kw * c, n, c_out), *at)
        return None
    g_t = g.permute(1, 2, 0)  # (W_out, C_out, N)
    d_a = g.new_empty((w_out, c_out, kw * c))
    prog.product(
        (w_out, c_out, n, kw * c), *[None if p is None else (g_t, p, d_a) for p in patches]
    )
    return d_a.view(w_out, -1)

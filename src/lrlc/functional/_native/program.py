"""A program of products over every output row and kernel row, run in one compiled call
(`lc_program.c`'s `lrlc_rows_program_f32`): the backward's row loop of `_rows_backward` without
its Python, which cost about 10 ms a step at any batch (0.14 of a convolution step at N = 128,
AMD EPYC Zen 4, session 21).

A step is given by its operands at (i, a) = (0, 0) and at (1, 0) and (0, 1): the pointers'
differences are its steps along the output rows and the kernel rows (the row loop's views
are strided, so each operand's address is linear in i and a). `Program.run()` returns
whether the kernel ran; the caller's row loop runs where it did not, or where a step could
not be built (`Program.ok` false).
"""

from __future__ import annotations

import array

import torch
from torch import Tensor

from . import ISAS, _active, _ran
from .dots import dots_operands_ok

STEP = 32  # integers a step (PROGRAM_STEP)
PRODUCT, BARRIER, COPY, DW_COPY, DOTS, PLACED = 0, 1, 2, 3, 4, 5
ALWAYS, FIRST, LAST = 0, 1, 2  # kernel rows a step runs at: every one, a = 0, a = kh - 1
BETA_GIVEN, BETA_AFTER_FIRST, BETA_ROW_SEEN = 0, 1, 2  # `Program.product`'s beta rules


def _delta(t0: Tensor, t1: Tensor | None) -> int:
    """Elements between two views' first elements (0 where there is no second view)."""
    if t1 is None:
        return 0
    return (t1.data_ptr() - t0.data_ptr()) // t0.element_size()


def _deltas(at: tuple[Tensor, ...], along_i, along_a) -> list[int]:
    """Each operand's steps along i and along a: [a_i, a_a, b_i, b_a, c_i, c_a]."""
    return [
        _delta(t0, None if along is None else along[k])
        for k, t0 in enumerate(at)
        for along in (along_i, along_a)
    ]


def _plain(t: Tensor) -> bool:
    return t.dtype is torch.float32 and t.device.type == "cpu"


def _strides(t: Tensor, in_panels: bool, width: int) -> tuple[int, int, int] | None:
    """(per position, per row, per column tile) of a right operand or output the kernel
    reads: columns contiguous, or in panels (P, tiles, rows, width); None where it cannot."""
    if not _plain(t):
        return None
    if not in_panels:
        return (t.stride(0), t.stride(1), 0) if t.dim() == 3 and t.stride(2) == 1 else None
    if t.dim() != 4 or t.shape[-1] != width or t.stride(-1) != 1:
        return None
    if t.shape[-2] > 1 and t.stride(-2) != width:  # a single row's stride is moot
        return None
    return t.stride(0), width, t.stride(1)


class Program:
    """The steps for `h_out` output rows and `kh` kernel rows, float32."""

    def __init__(self, h_out: int, kh: int) -> None:
        self.h_out, self.kh = h_out, kh
        self.steps: list[list[int]] = []
        self.ok = True
        self.keep: list[Tensor] = []  # the operands, alive until the call

    def _add(self, kind: int, fields: list[int]) -> None:
        row = [kind, *fields]
        self.steps.append(row + [0] * (STEP - len(row)))

    def barrier(self) -> None:
        self._add(BARRIER, [])

    def product(
        self,
        shape: tuple[int, int, int, int],
        at: tuple[Tensor, Tensor, Tensor],
        along_i: tuple[Tensor, Tensor, Tensor] | None,
        along_a: tuple[Tensor, Tensor, Tensor] | None,
        when: int = ALWAYS,
        by_rows: bool = False,
        beta_rule: int = BETA_GIVEN,
        beta: bool = False,
        panels: tuple[bool, bool] = (False, False),
        rows_of_i_plus_a: tuple[int, int] | None = None,
        out_rows: tuple[int, int] | None = None,
    ) -> None:
        """out (P, M, C) = (or +=) a (P, M, K) @ b (P, K, C), `shape` (P, M, K, C), as
        `row_bmm` at every (i, a) where `when` says. `at`: the tensors read at (0, 0): a
        (P, M, K) any strides; b (P, K, C) and out (P, M, C) with contiguous columns, or, where
        `panels` says so, in the kernel's panels (P, tiles, K or M, width); `along_i` /
        `along_a` the same at (1, 0) / (0, 1) (None where there is none). `rows_of_i_plus_a`
        (lo, n): run only where 0 <= i + a - lo < n (dL/dx's input rows; the padding's
        skipped). `out_rows` (shift, step): out's address moves by `step` elements along i and
        along a, and at (0, 0) lies `shift` steps from `at`'s out (an input row of the padding,
        never written: `rows_of_i_plus_a` skips it)."""
        _, isa = _active()
        np_, m, kk, ncols = shape
        a, b, out = at
        if isa is None or ncols % ISAS[isa][1] or a.dim() != 3 or not _plain(a):
            self.ok = False
            return
        strides = [_strides(t, p, ISAS[isa][2]) for t, p in zip((b, out), panels)]
        if None in strides:
            self.ok = False
            return
        deltas = _deltas(at, along_i, along_a)
        (b_p, b_k, b_ct), (c_p, c_m, c_ct) = strides
        c_ptr = out.data_ptr()
        if out_rows is not None:
            shift, step = out_rows
            deltas[4] = deltas[5] = step
            c_ptr += shift * step * out.element_size()
        skip, lo, n = (0, 0, 0) if rows_of_i_plus_a is None else (1, *rows_of_i_plus_a)
        self.keep += [t for v in (at, along_i, along_a) if v is not None for t in v]
        self._add(PRODUCT, [
            when, int(by_rows), np_, m, kk, ncols, a.data_ptr(), a.stride(0), a.stride(1),
            a.stride(2), b.data_ptr(), b_p, b_k, b_ct, c_ptr, c_p, c_m, c_ct,
            beta_rule, int(beta), *deltas, skip, lo, n,
        ])  # fmt: skip

    def dots(
        self,
        at: tuple[Tensor, Tensor, Tensor],
        along_i: tuple[Tensor, Tensor, Tensor] | None,
        along_a: tuple[Tensor, Tensor, Tensor] | None,
        beta_rule: int = BETA_GIVEN,
        beta: bool = False,
    ) -> None:
        """out (M, K) = (or +=) a (M, X) @ F^T, F (K, X) in panels, as `dots.row_dots` at
        every (i, a); `at` (a, panels, out) at (0, 0), `along_i` / `along_a` the same at (1, 0)
        / (0, 1) (None where there is none). Each thread a share of the M rows."""
        a, panels, out = at
        if not dots_operands_ok(a, panels, out, _active()[1]):
            self.ok = False
            return
        deltas = _deltas(at, along_i, along_a)
        self.keep += [t for v in (at, along_i, along_a) if v is not None for t in v]
        self._add(DOTS, [
            ALWAYS, a.shape[0], a.shape[1], panels.shape[1], a.data_ptr(), a.stride(0),
            *deltas[0:2], panels.data_ptr(), panels.stride(0), *deltas[2:4], out.data_ptr(),
            out.stride(0), out.stride(1), *deltas[4:6], beta_rule, int(beta),
        ])  # fmt: skip

    def placed_filters(
        self, at: Tensor, along_i: Tensor | None, along_a: Tensor | None, diag: Tensor
    ) -> None:
        """At every (i, a), diag (Wp, kw, C_out, C_in) = kernel row a of row i's stored
        filters (W_out, kw * C_in, C_out) placed by input column and transposed, as
        `_rows._diagonal_filters` does: diag[j + t, kw - 1 - t] = filters[j, t]^T. `at` /
        `along_i` / `along_a`: the filters at (0, 0) / (1, 0) / (0, 1). Each thread a share of
        the positions."""
        w_out, kw, c_out, c_in = at.shape[0], diag.shape[1], diag.shape[2], diag.shape[3]
        ok = _plain(at) and _plain(diag) and at.stride(2) == 1 and at.shape[1] == kw * c_in
        if not ok or diag.stride(3) != 1 or diag.stride(2) != c_in or at.shape[2] != c_out:
            self.ok = False
            return
        self.keep += [at, diag]
        self._add(PLACED, [
            ALWAYS, w_out, kw, c_out, c_in, at.data_ptr(), at.stride(0), c_in * at.stride(1),
            at.stride(1), _delta(at, along_i), _delta(at, along_a), diag.data_ptr(),
            diag.stride(0), diag.stride(1),
        ])  # fmt: skip

    def copy_rows(self, src_at: Tensor, src_next: Tensor | None, dst: Tensor) -> None:
        """At a = 0, dst (N, W, C), columns contiguous, = src (N, W, C) any strides, src_next
        the same at the next output row."""
        if not (_plain(src_at) and _plain(dst)) or dst.stride(2) != 1:
            self.ok = False
            return
        n, w, c = dst.shape
        s = src_at.stride()
        self.keep += [src_at, dst]
        self._add(COPY, [
            FIRST, n, w, c, src_at.data_ptr(), s[0], s[1], s[2], _delta(src_at, src_next),
            dst.data_ptr(), dst.stride(0), dst.stride(1),
        ])  # fmt: skip

    def transposed_rows(self, src: Tensor, dst_at: Tensor, dst_next: Tensor | None) -> None:
        """At a = kh - 1, dst (K, R) = src (R, >= K)[:, :K]^T, each thread the rows its
        `by_rows` products wrote; dst_next: dst at the next output row."""
        rows, cols = dst_at.shape[1], dst_at.shape[0]
        if src.stride(1) != 1 or dst_at.stride(1) != 1:
            self.ok = False
            return
        self.keep += [src, dst_at]
        self._add(DW_COPY, [
            LAST, rows, cols, src.data_ptr(), src.stride(0), dst_at.data_ptr(), dst_at.stride(0),
            _delta(dst_at, dst_next),
        ])  # fmt: skip

    def run(self) -> bool:
        lib, isa = _active()
        if not self.ok or isa is None:
            return False
        head = [ISAS[isa][0], torch.get_num_threads(), self.h_out, self.kh, len(self.steps)]
        args = array.array("q", head + [x for row in self.steps for x in row])
        if lib.lrlc_rows_program_f32(args.buffer_info()[0]) != 0:
            return False
        _ran()
        return True

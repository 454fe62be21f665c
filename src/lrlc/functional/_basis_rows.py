"""The per-position filters of a fixed-weight LRLC layer, built row by row from its bases for
the row products of `_rows.py`, and their gradients sent back to the bases and the weights.

    W[i, j] = sum_k w[k, i, j] F^k                       (Eq. 2)
    dF^k    = sum_ij w[k, i, j] dW[i, j]
    dw[k, i, j] = <dW[i, j], F^k>

Each is a product with K on one side: building a row of filters is (W_out, K) @ (K, X), with X
= C_out * C_in * kh * kw. While K is small the bases (K x X) stay in cache and one row at a
time is best (one kernel row at a time, even: a third of a row's filters fits in L2). When K
is large, as for ``combining="full"`` at K = H_out * W_out (a true locally connected layer),
the bases are as large as all the filters together, and a row at a time would read all of
them from memory for every row: there a block of rows is built, and its gradients sent back,
by one product each (`rows_per_block`).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from ._basis_dw import DwProducts
from ._basis_layouts import bases_from_panels, forward_panels, tap_panels
from ._native import pack_panels, panel_width, row_bmm, row_mm, runs_compiled
from ._rows import RowKernels


def rows_per_block(rank: int, w_out: int, h_out: int) -> int:
    """How many output rows' filters one product builds: about K / W_out (at least 1), so that
    the block, (rows * W_out) x X, is never larger than the bases, K x X, while each product
    reads the bases once per block instead of once per row. At K = 484 and a 22 x 22 output
    (`combining="full"`): all 22 rows; at K <= 32 and 22 columns: one (the cache-sized build).
    """
    return max(1, min(h_out, rank // w_out))


class BasisKernels(RowKernels):
    """Row filters from the bases (Eq. 2), and their gradients sent on to the bases and the
    weights. bases (K, C_out, C_in, kh, kw), weights (K, H_out, W_out), normalised."""

    def __init__(self, bases: Tensor, weights: Tensor, need_grads: bool = False) -> None:
        k, c_out, c_in, kh, kw = bases.shape
        self.bases = bases
        self.shape = (kh, kw * c_in, c_out)
        self.transposed_shape = (kh, kw, c_out, c_in)
        self.weights = weights.to(bases.dtype)
        self.h_out, self.w_out = weights.shape[1:]
        self.block = rows_per_block(k, self.w_out, self.h_out)
        self._buffers: dict[str, Tensor] = {}  # `_build`'s, one per order
        self._built: dict[str, int] = {}  # which block each order's buffer holds
        # Views the row loops take, made once: each indexing op costs microseconds of Python
        # and dispatch, and the loops make thousands of them per step.
        self._w_rows = self.weights.permute(1, 2, 0).unbind(0)  # per row: (W_out, K)
        self._diag: Tensor | None = None  # dL/dx's filters by input column, and
        self._places: list[Tensor] = []  # where each tap goes in it (`place_transposed`)
        self._places_batch: Tensor | None = None  # all of them as one batch (`_tap_places`)
        if need_grads:
            # dF^k sums every row's share: in float32 when the products run in bf16/fp16, so
            # that it is rounded once, as a convolution's weight gradient is (summed in
            # bf16 its error was 1.8x Algorithm 1's).
            acc = self._acc = torch.promote_types(bases.dtype, torch.float32)
            self.w_acc = self.weights.to(acc)
            # dF^k by kernel row in the compiled kernel's panels, where it runs on one row at
            # a time: (kh, tiles, K, width), each product's tile of K rows one block, as the
            # bases the builds read (`_flat_panels`); then there is no d_flat, whose K x X
            # would add to the step's peak (K = 32: 4.7 MB at 64 channels).
            width = panel_width() if self.block == 1 and acc is torch.float32 else 0
            x = c_out * kw * c_in
            self._d_panels: Tensor | None = None
            self.d_flat: Tensor | None = None  # (K, kh * X) in `flat_acc`'s order
            self._d_taps: tuple[Tensor, ...] | None = None
            if width:
                self._d_panels = bases.new_zeros((kh, -(-x // width), k, width), dtype=acc)
            else:
                self.d_flat = bases.new_zeros((k, kh * x), dtype=acc)
                self._d_taps = self.d_flat.view(k, kh, -1).unbind(1)
            self.d_weights = torch.empty_like(self.w_acc)
            self._w_acc_rows = self.w_acc.unbind(1)  # per row: (K, W_out)
            self._d_w_rows = self.d_weights.unbind(1)
            self._pending: Tensor | None = None  # a block's filter gradients, by position

    @property
    def flat_acc(self) -> Tensor:
        """(K, kh, C_out, kw, C_in) in the gradients' dtype: the order of the filter gradients
        (`add_grad`), what dw reads (`_basis_dw`, which makes it where it is first read)."""
        return self._dw.flat_acc

    # The bases re-laid out for each use, made on first use only: the forward reads `flat`,
    # the backward `flat_t` (and `flat` only for strided or dilated dL/dx), so neither pass
    # holds a copy it does not read (at K = 32 each is 4.7 MB).
    @functools.cached_property
    def flat(self) -> Tensor:
        """(K, kh, kw, C_in, C_out): the (kernel column, channel) order of the patches."""
        return self.bases.permute(0, 3, 4, 2, 1).reshape(self.bases.shape[0], -1)

    @functools.cached_property
    def flat_t(self) -> Tensor:
        """(K, kh, kw, C_out, C_in): the order dL/dx reads, so that the backward builds each
        row's filters in it (no transposing copy of the row)."""
        return self.bases.permute(0, 3, 4, 1, 2).reshape(self.bases.shape[0], -1)

    @functools.cached_property
    def _flat_rows(self) -> tuple[Tensor, ...]:
        """`flat` by kernel row: (K, kw*C_in*C_out) each."""
        return self.flat.view(self.flat.shape[0], self.shape[0], -1).unbind(1)

    @functools.cached_property
    def _flat_t_rows(self) -> tuple[Tensor, ...]:
        """`flat_t` by kernel row: (K, kw*C_out*C_in) each."""
        return self.flat_t.view(self.flat_t.shape[0], self.shape[0], -1).unbind(1)

    @functools.cached_property
    def _flat_t_taps(self) -> tuple[tuple[Tensor, ...], ...]:
        """`flat_t` by kernel row, then by reversed tap (the order dL/dx places them in):
        [a][b] is tap kw - 1 - b of kernel row a, (K, C_out*C_in)."""
        kh, kw = self.transposed_shape[:2]
        taps = self.flat_t.view(self.flat_t.shape[0], kh, kw, -1)
        return tuple(tuple(taps[:, a, kw - 1 - b] for b in range(kw)) for a in range(kh))

    @functools.cached_property
    def _flat_panels(self) -> Tensor | None:
        """`flat` by kernel row in the compiled kernel's panels, (kh, tiles, K, width), what
        the forward's builds read (`pack_panels`), or None where the kernel does not run. The
        builds' tiles each read all K rows of their columns: K = 32 rows 48 KB apart are more
        streams than the prefetchers follow, and the build ran at about half its speed from
        memory (docs/performance.md, session 21)."""
        width = panel_width()
        if not width or self.bases.dtype is not torch.float32:
            return None
        direct = forward_panels(self.bases, width)
        if direct is not None:
            return direct
        return pack_panels(
            self.flat.view(self.flat.shape[0], self.shape[0], -1).transpose(0, 1), width
        )

    def kernel_row(self, i: int, a: int) -> Tensor:
        return self._build(i, a, "forward").view(-1, *self.shape[1:])

    @functools.cached_property
    def _flat_pair_rows(self) -> tuple[Tensor, ...]:
        """`flat` by kernel row with each pair of (kernel column, channel) entries next to
        each other for every output channel: (K, kw*C_in/2 * C_out * 2), the order
        `pairs_bmm` reads its right operand in."""
        k = self.bases.shape[0]
        kh, kwc, c_out = self.shape
        pairs = self.flat.view(k, kh, kwc // 2, 2, c_out).transpose(3, 4)
        return pairs.reshape(k, kh, -1).unbind(1)

    def whole_source(self) -> tuple[str, Tensor, ...] | None:
        # One row's filters at a time only (blocks of rows build theirs whole, by `_build`)
        if self.block > 1:
            return None
        panels = self._flat_panels
        kh, kwc, c_out = self.shape
        if panels is not None and panels.shape[1] * panels.shape[3] == kwc * c_out:
            return "basis", self.weights, None, panels  # whole panels: no `flat` made for them
        flat = self.flat.view(self.flat.shape[0], kh, -1)
        return "basis", self.weights, flat, panels

    def pair_shape(self) -> tuple[int, int] | None:
        # One row's filters at a time only: blocks of rows (K >= 2 W_out) keep torch's bf16
        # products.
        return None if self.block > 1 else self.shape[1:]

    def kernel_row_pairs(self, i: int, a: int) -> Tensor:
        w = self._w_rows[i]
        out = self._buffer("pairs", (self.w_out, self._flat_pair_rows[a].shape[1]), w)
        torch.mm(w, self._flat_pair_rows[a], out=out)
        kh, kwc, c_out = self.shape
        return out.view(self.w_out, kwc // 2, c_out, 2)

    def kernel_row_scattered(self, i: int, a: int) -> Tensor:
        """(W_out, C_out, kw * C_in), contiguous: built from the bases in the filter
        gradients' order (`flat_acc`), which is this one, where it is the products' dtype
        and one row is built at a time; else the base class's transposed view."""
        rows = self._scattered_bases
        if rows is None:
            return super().kernel_row_scattered(i, a)
        kh, kwc, c_out = self.shape
        w = self._w_rows[i]
        out = self._buffer("scattered", (self.w_out, rows.shape[2]), w)
        return row_mm(w, rows[:, a], out, by_rows=True).view(self.w_out, c_out, kwc)

    @property
    def _scattered_bases(self) -> Tensor | None:
        """`flat_acc` by kernel row, (K, kh, X) with X = (C_out, kw, C_in), what the scattered
        dL/dx's filters are built from; None where they are not (blocks of rows, or the
        gradients' dtype not the products')."""
        flat = self._dw.flat_acc
        if self.block > 1 or flat.dtype != self.bases.dtype:
            return None
        return flat.view(flat.shape[0], self.shape[0], -1)

    def program_scattered_filters(self, prog, out: Tensor) -> None:
        """`kernel_row_scattered` at every (i, a) as a step of `prog`: (W_out, K) @ (K, X)
        from `flat_acc`'s kernel row a, each thread a share of the positions."""
        kh, rows = self.shape[0], self._scattered_bases
        if rows is None:
            prog.ok = False
            return
        w = [r.unsqueeze(0) for r in self._w_rows[:2]]  # (1, W_out, K)
        b = [rows[:, a].unsqueeze(0) for a in range(min(kh, 2))]  # (1, K, X)
        o = out.unsqueeze(0)
        prog.product(
            (1, self.w_out, rows.shape[0], rows.shape[2]), (w[0], b[0], o),
            (w[1], b[0], o) if self.h_out > 1 else None, (w[0], b[1], o) if kh > 1 else None,
            by_rows=True,
        )  # fmt: skip

    def kernel_row_transposed(self, i: int, a: int, kw: int) -> Tensor:
        return self._build(i, a, "input_grad").view(-1, *self.transposed_shape[1:])

    def place_transposed(self, i: int, a: int, diag: Tensor) -> None:
        """Build kernel row a of row i's transposed filters straight into their places by
        input column, diag[kw - 1 - b + j, b] = W[i, j, a, kw - 1 - b]: one product per tap,
        written where the transposed product reads it (no build buffer, no placing copy:
        7.7 of a 56 ms step at N = 2, K = 4, Intel Xeon)."""
        if self.block > 1:
            super().place_transposed(i, a, diag)  # from the block's buffer
            return
        if self._diag is not diag:  # one diag serves every row of a backward pass
            self._diag = diag
            self._places = self._tap_places(diag)
        w = self._w_rows[i]
        if self._places_batch is not None:
            # every tap by one product: 66 kernel calls a step at 22 x 22 instead of 198
            taps, out = self._flat_t_tap_batches[a], self._places_batch
            packed = self._flat_t_tap_panels[a] if self._flat_t_tap_panels else None
            row_bmm(w.expand(taps.shape[0], *w.shape), taps, out, by_rows=True, packed=packed)
            return
        for tap, out in zip(self._flat_t_taps[a], self._places):
            row_mm(w, tap, out, by_rows=True)

    def _tap_places(self, diag: Tensor) -> list[Tensor]:
        """Where each reversed tap b of a row's filters goes in diag: [b] is diag[kw - 1 - b +
        j, b] for output column j, (W_out, C_out*C_in). Also sets `_places_batch`: all of them
        as one (kw, W_out, C_out*C_in) batch, tap kw - 1 - b' at b' (diag[b' + j, kw - 1 -
        b'], rows kw apart and taps kw - 1 apart), where the compiled kernel writes it."""
        kw = self.transposed_shape[1]
        places = [
            diag[kw - 1 - b : kw - 1 - b + self.w_out, b].view(self.w_out, -1) for b in range(kw)
        ]
        x4 = places[0].shape[1]
        batch = diag.as_strided(
            (kw, self.w_out, x4), ((kw - 1) * x4, kw * x4, 1), diag.storage_offset() + (kw - 1) * x4
        )
        # what the product reads as its right operand, (kw, K, X4): shape, dtype and unit
        # column stride are all the check reads (no `flat_t` made for it)
        taps = self.bases.new_empty(x4).expand(kw, self.bases.shape[0], x4)
        w = self._w_rows[0]
        self._places_batch = batch if runs_compiled(w.expand(kw, *w.shape), taps, batch) else None
        return places

    @functools.cached_property
    def _flat_t_tap_batches(self) -> tuple[Tensor, ...]:
        """`flat_t` by kernel row, its taps as a batch in kernel-column order: [a] is (kw, K,
        C_out*C_in), [a][b'] tap b' of kernel row a (what `_places_batch`[b'] holds)."""
        k = self.flat_t.shape[0]
        kh, kw = self.transposed_shape[:2]
        taps = self.flat_t.view(k, kh, kw, -1)
        return tuple(taps[:, a].transpose(0, 1) for a in range(kh))

    @functools.cached_property
    def _flat_t_tap_panels(self) -> tuple[Tensor, ...] | None:
        """`_flat_t_tap_batches` in the compiled kernel's panels (as `_flat_panels`): [a] is
        (kw, tiles, K, width), all kernel rows one tensor, or None where the kernel does not
        run."""
        width = panel_width()
        if not width or self.bases.dtype is not torch.float32:
            return None
        direct = tap_panels(self.bases, width)
        if direct is not None:
            return direct.unbind(0)
        kh, kw = self.transposed_shape[:2]
        taps = self.flat_t.view(self.flat_t.shape[0], kh, kw, -1).permute(1, 2, 0, 3)
        return pack_panels(taps, width).unbind(0)

    def _build(self, i: int, a: int, order: str) -> Tensor:
        """Kernel row a of row i's filters (Eq. 2), (W_out, kw*C*C_out) in the order's layout
        ("forward": `flat`'s, "input_grad": `flat_t`'s),
        from a reused buffer. One row: built one kernel row at a time, which the products then
        read from cache (1 MB at 64 channels and W_out = 22 fits in L2 where the whole row did
        not: forward 9% faster at N = 128, 5% at N = 512). A block of rows: built whole when
        its first row is asked for, then read by views."""
        kh = self.shape[0]
        forward = order == "forward"
        if self.block == 1:
            tap_rows = self._flat_rows if forward else self._flat_t_rows
            w = self._w_rows[i]  # (W_out, K)
            out = self._buffer(order, (self.w_out, tap_rows[a].shape[1]), w)
            return row_mm(w, tap_rows[a], out, by_rows=True)
        first = i - i % self.block
        rows = min(self.block, self.h_out - first)
        if self._built.get(order) != first:
            flat = self.flat if forward else self.flat_t
            w = self.weights[:, first : first + rows].reshape(flat.shape[0], -1)
            out = self._buffer(order, (self.block * self.w_out, flat.shape[1]), w)
            row_mm(w.t(), flat, out[: rows * self.w_out], by_rows=True)
            self._built[order] = first
        built = self._buffers[order].view(self.block, self.w_out, kh, -1)
        return built[i - first, :, a]

    def _buffer(self, order: str, shape: tuple[int, int], like: Tensor) -> Tensor:
        if order not in self._buffers:
            self._buffers[order] = like.new_empty(shape)
        return self._buffers[order]

    def add_grad(self, i: int, a: int, grad: Tensor) -> None:
        flat = grad.view(grad.shape[0], -1)  # (W_out, C_out*kw*C_in)
        if flat.dtype != self._acc:
            flat = flat.to(self._acc)
        if self.block > 1:
            self._add_block_grad(i, a, flat)
            return
        if self._d_panels is None:  # dF^k += w dW
            row_mm(self._w_acc_rows[i], flat, self._d_taps[a], accumulate=True)
        else:
            row_mm(self._w_acc_rows[i], flat, None, True, out_packed=self._d_panels[a])
        self._dw.add(i, a, flat)

    @functools.cached_property
    def _dw(self) -> DwProducts:
        """dw's products (`_basis_dw`), made at the first filter gradient."""
        return DwProducts(self.bases, self._acc, self._d_w_rows)

    def takes_program(self) -> bool:
        # one row's filters at a time, dF in panels (blocks of rows keep the loop)
        return self.block == 1 and self._d_panels is not None

    def program_steps(self, prog, grad: Tensor, diag: Tensor | None) -> None:
        """Add to `prog` (`_native.program.Program`) what `add_grad` and `place_transposed` do
        at each (i, a): dF into the panels, dw (`_basis_dw`), then the placed filters into diag
        (where given). grad: the (W_out, X) buffer the dW products write."""
        kh, kw = self.transposed_shape[:2]
        k = self.bases.shape[0]
        if not self.takes_program():
            prog.ok = False
            return
        nxt = self.h_out > 1  # views at (1, 0) and (0, 1) give the steps along i and a
        g = grad.unsqueeze(0)
        w_acc = [r.unsqueeze(0) for r in self._w_acc_rows[:2]]  # (1, K, W_out)
        d = [p.unsqueeze(0) for p in self._d_panels]  # (1, tiles, K, width)
        x = grad.shape[1]
        prog.product(
            (1, k, self.w_out, x), (w_acc[0], g, d[0]), (w_acc[1], g, d[0]) if nxt else None,
            (w_acc[0], g, d[1]) if kh > 1 else None, beta=True, panels=(False, True),
        )  # fmt: skip
        self._dw.program_steps(prog, grad)
        if diag is None:
            return
        batch = self._tap_places(diag) and self._places_batch
        taps = self._flat_t_tap_panels
        if batch is None or taps is None:
            prog.ok = False
            return
        w = [r.expand(kw, *r.shape) for r in self._w_rows[:2]]  # (kw, W_out, K)
        prog.product(
            (kw, self.w_out, k, batch.shape[2]), (w[0], taps[0], batch),
            (w[1], taps[0], batch) if nxt else None, (w[0], taps[1], batch) if kh > 1 else None,
            by_rows=True, panels=(True, False),
        )  # fmt: skip

    def _add_block_grad(self, i: int, a: int, flat: Tensor) -> None:
        """Gather the block's filter gradients by position; after its last row's last kernel
        row, send the block on by two products: dF += w_block @ dW_block, dw_block = F @
        dW_block^T."""
        kh = self.shape[0]
        first = i - i % self.block
        rows = min(self.block, self.h_out - first)
        if self._pending is None:
            self._pending = flat.new_empty((self.block, self.w_out, kh, flat.shape[1]))
        self._pending[i - first, :, a] = flat
        if (i, a) != (first + rows - 1, kh - 1):
            return
        k = self.flat_acc.shape[0]
        d_w_block = self._pending[:rows].view(rows * self.w_out, -1)  # (positions, X)
        w = self.w_acc[:, first : first + rows].reshape(k, -1)  # (K, positions)
        row_mm(w, d_w_block, self.d_flat, accumulate=True)
        d_w = self.d_weights[:, first : first + rows].view(k, -1)
        torch.mm(self.flat_acc, d_w_block.t(), out=d_w)

    def bases_grad(self, shape: torch.Size) -> Tensor:
        k, c_out, c_in, kh, kw = shape
        if self._d_panels is not None:  # (kh, tiles, K, width) -> (K, C_out, C_in, kh, kw)
            return bases_from_panels(self._d_panels, self.bases)
        d = self.d_flat.view(k, kh, -1)
        return d.unflatten(2, (c_out, kw, c_in)).permute(0, 2, 4, 1, 3)

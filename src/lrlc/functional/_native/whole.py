"""A whole forward of the row products in one compiled call (`lc_bmm.c`'s
`lrlc_rows_forward_f32`): every output row and kernel row of `_rows.forward_rows`, each thread
building (for the kernel path) and multiplying the filters of its own share of the output
positions, straight into a channels_last output. It replaces the ~130 calls of the row loop
(and their Python) where it can run; `rows_forward` returns None where it cannot.
"""

from __future__ import annotations

import array

import torch
from torch import Tensor

from . import ISAS, _active, _ran

# Where the positions of a row do not share out evenly among the threads (22 positions, 16
# threads: 2 for some, 1 for others) a thread would idle; beyond this imbalance the row loop's
# products, which share out tiles, run instead.
MAX_IMBALANCE = 1.1


def _balanced(positions: int, threads: int) -> bool:
    return -(-positions // threads) * threads <= MAX_IMBALANCE * positions


def rows_forward(
    xp: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_size: tuple[int, int],
    source: tuple[str, ...],
    bias: Tensor | None,
) -> Tensor | None:
    """The row products of `_rows.forward_rows` over the (Hp, N, Wp, C) input xp (each kernel
    row's kw taps contiguous) as a new dense (N, H_out, W_out, C_out), from bias (H_out,
    W_out, C_out) if given. `source`: ("rows", W) with W (H_out, W_out, kh, kw * C, C_out),
    stored filters; or ("basis", w, F, packed) with w (K, H_out, W_out) and F (K, kh, kw * C *
    C_out), the filters W[i, j, a] = sum_k w[k, i, j] F[k, a] (Eq. 2) built as they are
    needed, and packed None or F's kernel rows in panels, `pack_panels(F.transpose(0, 1),
    width)` (kh, tiles, K, width), which the builds then read; F may be None where packed
    is given (then its panels are whole: X = tiles * width).
    None where it cannot run (then the caller's row loop does)."""
    lib, isa = _active()
    if isa is None:
        return None
    threads = torch.get_num_threads()
    (h_out, w_out), (kh, kw), (_, n, _, c) = out_size, kernel, xp.shape
    kwc = kw * c
    c_out = source[1].shape[-1] if source[0] == "rows" else _basis_columns(source) // kwc
    tensors = [t for t in (xp, *source[1:], bias) if t is not None]
    if any(t.dtype is not torch.float32 or t.device.type != "cpu" for t in tensors):
        return None
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return None
    if c_out % ISAS[isa][1] or not _balanced(w_out, threads):
        return None
    if xp.stride(3) != 1 or xp.stride(2) != c:  # the kw taps of a kernel row contiguous
        return None
    if bias is not None and (bias.shape != (h_out, w_out, c_out) or bias.stride(2) != 1):
        return None
    s_row, s_n, s_col, _ = xp.stride()
    head = [ISAS[isa][0], threads, h_out, w_out, n, kh, kwc, c_out, xp.data_ptr(),
            stride[0] * s_row, dilation[0] * s_row, stride[1] * s_col, s_n]  # fmt: skip
    buffers = None
    if source[0] == "rows":
        rows = source[1]
        if rows.shape != (h_out, w_out, kh, kwc, c_out) or rows.stride(4) != 1:
            return None
        r = rows.stride()
        body = [0, rows.data_ptr(), r[0], r[1], r[2], r[3], 0, 0, 0, 0]
    else:
        w, flat = source[1], source[2]
        k = w.shape[0]
        if w.shape != (k, h_out, w_out):
            return None
        if flat is not None and (flat.shape != (k, kh, kwc * c_out) or flat.stride(2) != 1):
            return None
        operand = _bases_operand(flat, source[3], isa, (k, kh, kwc * c_out))
        if operand is None:
            return None
        buffers = xp.new_empty(threads * -(-w_out // threads) * kwc * c_out)
        sw, (f_ptr, f_k, f_a, f_ct) = w.stride(), operand
        body = [1, w.data_ptr(), sw[1], sw[2], sw[0], f_ptr, f_k, f_a, k, buffers.data_ptr()]
    out = xp.new_empty((n, h_out, w_out, c_out))
    o = out.stride()
    tail = [out.data_ptr(), o[1], o[2], o[0]]
    tail += [0, 0, 0] if bias is None else [bias.data_ptr(), bias.stride(0), bias.stride(1)]
    tail.append(f_ct if source[0] == "basis" else 0)
    args = array.array("q", head + body + tail)
    if lib.lrlc_rows_forward_f32(args.buffer_info()[0]) != 0:
        return None
    _ran()
    return out


def _basis_columns(source: tuple) -> int:
    """X, the columns of one kernel row of the bases in a ("basis", w, flat, packed) source:
    flat's, or where there is no flat, the packed panels' (whole panels, then)."""
    flat, packed = source[2], source[3]
    return flat.shape[-1] if flat is not None else packed.shape[1] * packed.shape[3]


def _bases_operand(
    flat: Tensor | None, packed: Tensor | None, isa: str, shape: tuple[int, int, int]
) -> tuple[int, int, int, int] | None:
    """(pointer, f_k, f_a, f_ct) of the bases (K, kh, X) the builds read: packed in panels
    where given in the kernel's width, else flat as it is; None where neither is usable."""
    width = ISAS[isa][2]
    k, kh, x = shape
    if packed is not None and packed.dtype is torch.float32:
        tiles = -(-x // width)
        if packed.shape == (kh, tiles, k, width) and packed.stride()[1:] == (k * width, width, 1):
            return packed.data_ptr(), width, packed.stride(0), k * width
    if flat is None:
        return None
    return flat.data_ptr(), flat.stride(0), flat.stride(1), 0

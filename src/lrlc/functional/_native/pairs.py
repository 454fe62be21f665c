"""The compiled products in bf16 (`lc_bmm.c`'s AVX512-BF16 kernel): `pairs_bmm`, for operands
built for it, which the forward of `_rows.py` takes where `pairs_available` says so."""

from __future__ import annotations

import array
import functools

import torch
from torch import Tensor

from . import _active, _ran


@functools.cache
def _cpu_has_bf16_pairs() -> bool:
    """Whether the CPU runs vdpbf16ps (AVX512-BF16; CPUs with AMX have it too), by oneDNN's
    own probe, the one `lrlc.experiments.machine` resolves bf16 precision with."""
    try:
        return bool(torch.backends.mkldnn.is_available() and _mkldnn_bf16())
    except (AttributeError, RuntimeError):
        return False


def _mkldnn_bf16() -> bool:
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()


def pairs_available(k: int, c: int) -> bool:
    """Whether `pairs_bmm` runs for a reduction of k and c output columns here: AVX512-BF16,
    the kernel built, k even, c a multiple of 16."""
    _, isa = _active()
    return isa == "AVX512" and k % 2 == 0 and c % 16 == 0 and _cpu_has_bf16_pairs()


def pairs_bmm(
    a: Tensor, b: Tensor, out: Tensor, accumulate: bool = False, bias: Tensor | None = None
) -> None:
    """out (float32) = a @ b in bf16 through the compiled AVX512-BF16 kernel (accumulate: out
    += a @ b; bias: out = bias + a @ b): a (P, M, K) bf16 with unit stride along K; b the
    (P, K, C) bf16 operand interleaved by pairs along K, (P, K / 2, C, 2); out (P, M, C);
    bias (P, C) float32. The caller has checked `pairs_available`; there is no torch
    fallback, since b is not a matrix torch multiplies."""
    np_, m, k = a.shape
    c = out.shape[2]
    ok = (
        a.dtype is b.dtype is torch.bfloat16 and out.dtype is torch.float32
        and a.stride(2) == 1 and b.shape == (np_, k // 2, c, 2) and b.stride()[2:] == (2, 1)
        and out.shape[:2] == (np_, m) and out.stride(2) == 1
        and (bias is None or (bias.dtype is torch.float32 and bias.shape == (np_, c)
                              and bias.stride(1) == 1 and not accumulate))
    )  # fmt: skip
    if not ok or not pairs_available(k, c):
        raise ValueError("pairs_bmm: operands it does not take (see its docstring)")
    lib, _ = _active()
    sa, sb, so = a.stride(), b.stride(), out.stride()
    bias_ptr, bias_p = (0, 0) if bias is None else (bias.data_ptr(), bias.stride(0))
    args = array.array("q", (
        torch.get_num_threads(), np_, m, k, c, a.data_ptr(), sa[0], sa[1],
        b.data_ptr(), sb[0], sb[1], out.data_ptr(), so[0], so[1], int(accumulate),
        bias_ptr, bias_p,
    ))  # fmt: skip
    if lib.lrlc_bmm_bf16_packed(args.buffer_info()[0]) != 0:
        raise RuntimeError("pairs_bmm: the kernel refused its operands")
    _ran()

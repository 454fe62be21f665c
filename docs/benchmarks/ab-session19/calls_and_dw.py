"""Session 19: what one `row_bmm` call costs beside its product (tiny operands, microseconds
a call, against `torch.bmm` on the same), and dw's products, (22, 12288) @ (12288, K),
through MKL (the bases' transposed view) and through the compiled kernel (a dense copy of
them), microseconds a call.
Usage: python docs/benchmarks/ab-session19/calls_and_dw.py"""

import torch
from _case import median_ms

from lrlc.functional import _native


def per_call_us(f, n=2000):
    return median_ms(lambda: [f() for _ in range(n)], 5) * 1e3 / n


def dw_us(k):
    """(MKL, compiled) microseconds of one dw product at rank k."""
    flat, taps, d_w = torch.randn(22, 12288), torch.randn(k, 12288), torch.empty(22, k)
    dense = taps.t().contiguous()
    mkl = per_call_us(lambda: torch.mm(flat, taps.t(), out=d_w), 200)
    return mkl, per_call_us(lambda: _native.row_mm(flat, dense, d_w), 200)


def main():
    torch.set_num_threads(2)
    a, b, out = torch.randn(1, 6, 4), torch.randn(1, 4, 16), torch.empty(1, 6, 16)
    ours = per_call_us(lambda: _native.row_bmm(a, b, out))
    theirs = per_call_us(lambda: torch.bmm(a, b, out=out))
    print(f"a call on (1, 6, 4) @ (1, 4, 16): row_bmm {ours:.1f} us, torch.bmm {theirs:.1f} us")
    for k in (16, 32, 64):
        mkl, compiled = dw_us(k)
        print(f"dw at K = {k}: MKL {mkl:.0f} us, compiled {compiled:.0f} us")


if __name__ == "__main__":
    main()

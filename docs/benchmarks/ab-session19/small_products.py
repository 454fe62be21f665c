"""Session 19: the filter builds and the bases' gradient of `_basis_rows.py`, one call each,
through MKL (torch.mm / addmm_) and through the compiled kernel (`row_mm`), microseconds a
call and GFLOP/s (K = 4, 8, 32; W_out = 22; X = 64 * 64 * 3 = 12288).
Usage: python docs/benchmarks/ab-session19/small_products.py"""

import statistics
import time

import torch

from lrlc.functional import _native


def per_call_us(f, n=200):
    for _ in range(10):
        f()
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times) * 1e6


def one_rank(k):
    w, flat, out = torch.randn(22, k), torch.randn(k, 12288), torch.empty(22, 12288)
    w_t, d_w, d_f = torch.randn(k, 22), torch.randn(22, 12288), torch.zeros(k, 12288)
    flops = 2 * 22 * k * 12288
    cases = {
        "build, MKL": lambda: torch.mm(w, flat, out=out),
        "build, compiled": lambda: _native.row_mm(w, flat, out),
        "dF, MKL": lambda: d_f.addmm_(w_t, d_w),
        "dF, compiled": lambda: _native.row_mm(w_t, d_w, d_f, accumulate=True),
    }
    line = []
    for name, f in cases.items():
        us = per_call_us(f)
        line.append(f"{name} {us:.0f} us ({flops / us / 1e3:.0f} GF/s)")
    print(f"K = {k}: " + "; ".join(line))


def main():
    torch.set_num_threads(2)
    for k in (4, 8, 32):
        one_rank(k)


if __name__ == "__main__":
    main()

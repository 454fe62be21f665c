"""Session 20: dw's product, (22, 12288) @ (12288, K), through torch (MKL, the bases' strided
view) and through the compiled kernel (the bases dense, K padded by zero columns to 16; its
threads sharing out the columns, the default, or the rows, `by_rows`), per call, 2 threads.
Run: `PYTHONPATH=src python docs/benchmarks/ab-session20/dw_products.py`."""

import statistics
import time

import torch

from lrlc.functional._native import row_mm


def per_call_us(f, n=200):
    for _ in range(20):
        f()
    ts = []
    for _ in range(5):
        s = time.perf_counter()
        for _ in range(n):
            f()
        ts.append((time.perf_counter() - s) / n * 1e6)
    return statistics.median(ts)


def main():
    torch.set_num_threads(2)
    flat = torch.randn(22, 12288)
    for k in (2, 4, 8, 16, 32):
        view = torch.randn(k, 3, 12288)[:, 0].t()
        out = torch.empty(22, k)
        padded = -(-k // 16) * 16
        dense = torch.zeros(12288, padded)
        dense[:, :k] = view
        out_p = torch.empty(22, padded)
        mkl = per_call_us(lambda: torch.mm(flat, view, out=out))  # noqa: B023
        cols = per_call_us(lambda: row_mm(flat, dense, out_p))  # noqa: B023
        rows = per_call_us(lambda: row_mm(flat, dense, out_p, by_rows=True))  # noqa: B023
        print(f"{k} mkl {mkl:.1f}  kernel {cols:.1f}  kernel by_rows {rows:.1f} us")


if __name__ == "__main__":
    main()

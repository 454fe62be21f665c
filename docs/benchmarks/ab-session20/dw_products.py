"""Session 20: dw's product, (22, 12288) @ (12288, K), through torch (MKL, the bases' strided
view) and through the compiled kernel (the bases dense, K padded by zero columns to 16; its
threads sharing out the columns, the default, or the rows, `by_rows`), per call, 2 threads.
Run: `PYTHONPATH=src python docs/benchmarks/ab-session20/dw_products.py`."""

import sys
from pathlib import Path

import torch

from lrlc.functional._native import row_mm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ab-session19"))
from small_products import per_call_us  # noqa: E402  (session 19's timer: 7 x 200 calls)


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

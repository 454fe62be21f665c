"""66 rows of dw, (22, 12288) @ F^T, through the tiles (dense F, K padded) and as dot products
(F in panels), interleaved. argv: ISA K[,K] (AVX512 or AVX2: that set's kernels)."""

import statistics as st
import sys
import time

import torch
from _setup import dw_operands

from lrlc.functional import use_native
from lrlc.functional._native import column_multiple, pack_panels, panel_width, row_mm
from lrlc.functional._native.dots import row_dots

W, X = 22, 12288


def once(fn, n=66):
    start = time.perf_counter()
    for i in range(n):
        fn(i % 3)
    return time.perf_counter() - start


def compare(k: int) -> tuple[float, float]:
    kp = -(-k // column_multiple()) * column_multiple()
    d_w, bases = dw_operands(k, W, X)
    panels = [pack_panels(f, panel_width()) for f in bases]
    dense = []
    for f in bases:
        d = torch.zeros(X, kp)
        d[:, :k] = f.t()
        dense.append(d)
    out, out_t = torch.empty(W, kp), torch.empty(k, W).t()

    def tiles(i):
        return row_mm(d_w, dense[i], out, by_rows=True)

    def dots(i):
        return row_dots(d_w, panels[i], out_t)

    once(tiles)
    once(dots)
    ra, rb = [], []
    for _ in range(11):
        ra.append(once(tiles))
        rb.append(once(dots))
    return st.median(ra), st.median(rb)


torch.set_num_threads(2)
isa = sys.argv[1]
with use_native(True, isa), torch.no_grad():
    for k in [int(v) for v in sys.argv[2].split(",")]:
        a, b = compare(k)
        print(f"{isa} K={k}: tiles {a * 1e3:.2f} ms  dots {b * 1e3:.2f} ms")

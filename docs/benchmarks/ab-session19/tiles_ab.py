"""Session 19: the AVX-512 tile of 6 rows (kept) against one of 7 (which spills one of its 28
accumulators each step), on one output row's forward and dW operands (N = 512, channels_last
input read in place), GFLOP/s. Builds both variants of lc_bmm.c into a temporary folder.
Usage: python docs/benchmarks/ab-session19/tiles_ab.py"""

import ctypes
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from lrlc.functional import _native

I64, PTR = ctypes.c_ssize_t, ctypes.c_void_p
ARGS = [ctypes.c_int, ctypes.c_int] + [I64] * 4 + [PTR, I64, I64, I64, PTR, I64, I64]
ARGS += [PTR, I64, I64, ctypes.c_int]


def build_variants():
    src = _native.SOURCE.read_text()
    seven = (
        src.replace("#define R512 6", "#define R512 7")
        .replace("T512_ROW(5) T512_ROW(6)", "T512_ROW(5) T512_ROW(6) T512_ROW(7)")
        .replace(
            "{t512_6_1, t512_6_2, t512_6_3, t512_6_4}};",
            "{t512_6_1, t512_6_2, t512_6_3, t512_6_4},\n{t512_7_1, t512_7_2, t512_7_3, t512_7_4}};",
        )
    )
    tmp = Path(tempfile.mkdtemp())
    libs = {}
    for name, text in (("6 rows", src), ("7 rows", seven)):
        c, so = tmp / f"{name[0]}.c", tmp / f"{name[0]}.so"
        c.write_text(text)
        cmd = ["cc", "-O3", "-fopenmp", "-shared", "-fPIC", str(c), "-o", str(so)]
        subprocess.run(cmd, check=True)
        lib = ctypes.CDLL(str(so))
        lib.lrlc_bmm_f32.argtypes = ARGS
        libs[name] = lib
    return libs


def main():
    torch.set_num_threads(2)
    n, c = 512, 64
    x = torch.randn(n, c, 24, 24).to(memory_format=torch.channels_last)
    xp = x.permute(2, 0, 3, 1)  # (H, N, W, C), a view of the NHWC image
    s_row, s_n, s_col, _ = xp.stride()
    w = torch.randn(22, 192, 64)
    g_t = torch.randn(22, 64, n)
    y, d_w = torch.empty(22, n, 64), torch.empty(22, 64, 192)

    def forward(lib):
        for i in range(22):
            for a in range(3):
                p = xp.data_ptr() + 4 * (i + a) * s_row
                lib.lrlc_bmm_f32(2, 2, 22, n, 192, 64, p, s_col, s_n, 1, w.data_ptr(),
                                 192 * 64, 64, y.data_ptr(), n * 64, 64, int(a > 0))  # fmt: skip

    def filter_grad(lib):
        for i in range(22):
            for a in range(3):
                p = xp.data_ptr() + 4 * (i + a) * s_row
                lib.lrlc_bmm_f32(2, 2, 22, 64, n, 192, g_t.data_ptr(), 64 * n, n, 1, p,
                                 s_col, s_n, d_w.data_ptr(), 64 * 192, 192, 0)  # fmt: skip

    flops = 66 * 2 * 22 * 64 * n * 192

    def rate(f, lib):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            f(lib)
            times.append(time.perf_counter() - t0)
        return flops / statistics.median(times) / 1e9

    libs = build_variants()
    for _ in range(3):
        print("  ".join(
            f"{name} {f.__name__} {rate(f, lib):.0f}"
            for f in (forward, filter_grad) for name, lib in libs.items()
        ))  # fmt: skip


if __name__ == "__main__":
    main()

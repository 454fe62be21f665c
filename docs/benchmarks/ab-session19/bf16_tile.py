"""Session 19, a prototype (not in the library): the forward row products in bf16 through
`bf16_tile.c` (AVX512-BF16's vdpbf16ps, the patches read in place from a channels_last bf16
input, the filters interleaved by pairs) against torch's bf16 `bmm` (oneDNN) on the same
operands, as the library runs it now (the patches copied dense first, then the product) and
without that copy. One output row's three kernel rows, 22 rows, N = 512, 64 -> 64 channels,
GFLOP/s. Needs a CPU with AVX512-BF16 and a C compiler.
Usage: python docs/benchmarks/ab-session19/bf16_tile.py"""

import ctypes
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch

I64, PTR = ctypes.c_ssize_t, ctypes.c_void_p


def build():
    so = Path(tempfile.mkdtemp()) / "bf16_tile.so"
    src = Path(__file__).with_name("bf16_tile.c")
    subprocess.run(["cc", "-O3", "-fopenmp", "-shared", "-fPIC", str(src), "-o", str(so)],
                   check=True)  # fmt: skip
    lib = ctypes.CDLL(str(so))
    lib.bf16_bmm64.argtypes = [ctypes.c_int] + [I64] * 3 + [PTR, I64, I64, PTR, I64]
    lib.bf16_bmm64.argtypes += [PTR, I64, I64]
    return lib


def median_s(f, reps=5):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    torch.set_num_threads(2)
    lib = build()
    n, c, w_out, kwc = 512, 64, 22, 192
    x = torch.randn(n, c, 24, 24).to(memory_format=torch.channels_last).bfloat16()
    xp = x.permute(2, 0, 3, 1)  # (H, N, W, C) view of the NHWC image
    s_row, s_n, s_col, _ = xp.stride()
    w = (torch.randn(w_out, 3, kwc, c) * 0.05).bfloat16()
    # (W_out, kh, kwc / 2, C_out, 2): pairs along the reduction next to each other
    w_pairs = w.view(w_out, 3, kwc // 2, 2, c).transpose(3, 4).contiguous()
    out = torch.empty(w_out, n, c)
    acc = torch.empty(w_out, n, c)

    def patches(i, a):
        return xp.as_strided((w_out, n, kwc), (s_col, s_n, 1), (i + a) * s_row)

    def kernel():
        for i in range(22):
            for a in range(3):
                p = patches(i, a)
                wa = w_pairs[:, a].data_ptr()
                lib.bf16_bmm64(2, w_out, n, kwc, p.data_ptr(), s_col, s_n, wa, 3 * kwc * c,
                               out.data_ptr(), n * c, c)  # fmt: skip
                acc.add_(out) if a else acc.copy_(out)

    def onednn(dense):
        def run():
            for i in range(22):
                for a in range(3):
                    p = patches(i, a).contiguous() if dense else patches(i, a)
                    r = torch.bmm(p, w[:, a])
                    acc.add_(r) if a else acc.copy_(r)

        return run

    p, ref = patches(3, 1), None
    lib.bf16_bmm64(2, w_out, n, kwc, p.data_ptr(), s_col, s_n, w_pairs[:, 1].data_ptr(),
                   3 * kwc * c, out.data_ptr(), n * c, c)  # fmt: skip
    ref = torch.bmm(p.float(), w[:, 1].float())
    print(
        f"largest difference from float32 products of the same bf16 operands: "
        f"{(out - ref).abs().max().item():.1e} (values up to {ref.abs().max().item():.1f})"
    )
    flops = 66 * 2 * w_out * n * kwc * c
    cases = {"bf16 tile": kernel, "oneDNN, patches copied": onednn(True),
             "oneDNN, strided patches": onednn(False)}  # fmt: skip
    for _ in range(3):
        print("  ".join(f"{name} {flops / median_s(f) / 1e9:.0f}" for name, f in cases.items()))


if __name__ == "__main__":
    main()

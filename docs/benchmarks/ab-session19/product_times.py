"""Session 19: where the kernel path's training step goes with the compiled row products:
the time in each call site of `row_bmm` (forward, dW, dL/dx) per step, and its GFLOP/s, with
torch's products and with the compiled ones.
Usage: python docs/benchmarks/ab-session19/product_times.py N K [cl]"""

import sys
import time
from collections import defaultdict

import torch

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _native, _rows, _rows_backward
from lrlc.layers import LowRankLocallyConnected2d

spent = defaultdict(float)
flops = defaultdict(float)


def timed(name, fn):
    def wrapper(a, b, out, accumulate=False):
        # dW writes (W_out, C_out, kw * C_in) = (22, 64, 192); dL/dx (W, N, C_in)
        key = name if name == "forward" else ("dW" if out.shape[2] == 192 else "dL/dx")
        t0 = time.perf_counter()
        r = fn(a, b, out, accumulate)
        spent[key] += time.perf_counter() - t0
        flops[key] += 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
        return r

    return wrapper


def main():
    n, k = int(sys.argv[1]), int(sys.argv[2])
    cl = len(sys.argv) > 3 and sys.argv[3] == "cl"
    keep_freed_memory()
    torch.set_num_threads(2)
    fmt = torch.channels_last if cl else torch.contiguous_format
    x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
    m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
    m = m.to(memory_format=fmt)
    g = torch.randn_like(m(x))
    _rows.row_bmm = timed("forward", _native.row_bmm)
    _rows_backward.row_bmm = timed("backward", _native.row_bmm)
    for on in (False, True, False, True):
        with _native.use_native(on):
            m(x).backward(g)
            spent.clear()
            flops.clear()
            steps = 3
            t0 = time.perf_counter()
            for _ in range(steps):
                m(x).backward(g)
            step = (time.perf_counter() - t0) / steps
        parts = ", ".join(
            f"{name} {spent[name] / steps * 1e3:.1f} ms "
            f"({flops[name] / spent[name] / 1e9:.0f} GF/s)"
            for name in spent
        )
        print(f"{'native' if on else 'torch ':6s} step {step * 1e3:.1f} ms: {parts}")


if __name__ == "__main__":
    main()

"""Session 19: where the kernel path's training step goes with the compiled row products:
the time in each call site of `row_bmm` (forward, dW, dL/dx) per step, and its GFLOP/s, with
torch's products and with the compiled ones.
Usage: python docs/benchmarks/ab-session19/product_times.py N K [cl]"""

import time
from collections import defaultdict

from _case import kernel_path_case

from lrlc.functional import _native, _rows, _rows_backward

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
    m, x, g, _ = kernel_path_case()
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

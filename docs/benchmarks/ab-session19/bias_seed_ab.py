"""Session 19: the per-position bias as the start of each row's first product (the kernel's
accumulators loaded from the bias row) against a copy of it into the output followed by an
accumulating product (before), `LocallyConnected2d` inference in channels_last, alternating
round by round, against one convolution's inference.
Usage: python docs/benchmarks/ab-session19/bias_seed_ab.py N [rounds]"""

import statistics
import sys

import torch
from _case import median_ms

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _native, _rows
from lrlc.layers import LocallyConnected2d


def copied_bias(a, b, out, accumulate=False, bias=None):
    if bias is None:
        return _native.row_bmm(a, b, out, accumulate)
    out.copy_(bias.unsqueeze(1).expand_as(out))
    return _native.row_bmm(a, b, out, accumulate=True)


def main():
    n = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    keep_freed_memory()
    torch.set_num_threads(2)
    cl = torch.channels_last
    x = torch.randn(n, 64, 24, 24).to(memory_format=cl)
    lc = LocallyConnected2d(64, 64, 3, input_size=(24, 24)).to(memory_format=cl).eval()
    conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=cl).eval()
    variants = {"bias start": _native.row_bmm, "bias copied": copied_bias}
    times = {"conv": [], **{k: [] for k in variants}}
    with torch.no_grad():
        outputs = []
        for f in variants.values():
            _rows.row_bmm = f
            outputs.append(lc(x))
        torch.testing.assert_close(outputs[0], outputs[1])
        for _ in range(rounds):
            times["conv"].append(median_ms(lambda: conv(x)))
            for name, f in variants.items():
                _rows.row_bmm = f
                lc(x)
                times[name].append(median_ms(lambda: lc(x)))
    c = statistics.median(times["conv"])
    print(f"LocallyConnected2d inference, N = {n}, channels_last")
    for name, v in times.items():
        med = statistics.median(v)
        print(f"  {name:12s} {med:6.1f} ms ({med / c:.2f}x conv; rounds {[round(t) for t in v]})")


if __name__ == "__main__":
    main()

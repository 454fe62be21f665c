"""Session 19: the torch profiler over kernel-path training steps with the compiled row
products (their calls marked `row_bmm`), the top operators by self CPU time.
Usage: python docs/benchmarks/ab-session19/profile_step.py N K [cl]"""

import sys

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _native, _rows, _rows_backward
from lrlc.layers import LowRankLocallyConnected2d


def marked(a, b, out, accumulate=False):
    with record_function("row_bmm"):
        return _native.row_bmm(a, b, out, accumulate)


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
    _rows.row_bmm = _rows_backward.row_bmm = marked
    for _ in range(2):
        m(x).backward(g)
    steps = 2
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            m(x).backward(g)
    print(f"N={n} K={k} {'channels_last' if cl else 'NCHW'}, {steps} steps")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))


if __name__ == "__main__":
    main()

"""Session 19: the kernel path's and `LocallyConnected2d`'s training step with the compiled
row products (`lrlc.functional._native`) against torch's (MKL's batched GEMM), alternating
round by round in one process, with one convolution step in each round as the yardstick.
Usage: python docs/benchmarks/ab-session19/native_ab.py N K [channels_last] [rounds]"""

import statistics
import sys
import time

import torch

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _native
from lrlc.layers import LocallyConnected2d, LowRankLocallyConnected2d


def step_ms(m, x, g, reps=3):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        m(x).backward(g)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def main():
    n, k = int(sys.argv[1]), int(sys.argv[2])
    cl = len(sys.argv) > 3 and sys.argv[3] == "cl"
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    keep_freed_memory()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    fmt = torch.channels_last if cl else torch.contiguous_format
    x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
    if k == 0:
        m = LocallyConnected2d(64, 64, 3, input_size=(24, 24))
    else:
        m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
    conv = torch.nn.Conv2d(64, 64, 3)
    m, conv = m.to(memory_format=fmt), conv.to(memory_format=fmt)
    g = torch.randn_like(m(x))
    res = {}
    for on in (False, True):
        with _native.use_native(on):
            m.zero_grad()
            x.grad = None
            y = m(x)
            y.backward(g)
            res[on] = [y.detach(), x.grad.clone(), *(p.grad.clone() for p in m.parameters())]
    diff = max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(res[0], res[1]))
    print(f"N={n} K={k} {'channels_last' if cl else 'NCHW'}; {_native.status().reason}")
    print(f"  largest relative difference of output and gradients: {diff:.1e}")
    times = {"conv": [], "torch": [], "native": []}
    for _ in range(rounds):
        times["conv"].append(step_ms(conv, x, g))
        for name, on in (("torch", False), ("native", True)):
            with _native.use_native(on):
                m(x).backward(g)
                times[name].append(step_ms(m, x, g))
    c = statistics.median(times["conv"])
    for name, v in times.items():
        med = statistics.median(v)
        print(f"  {name:7s} {med:7.1f} ms  ({med / c:.2f}x conv; rounds {[round(t) for t in v]})")


if __name__ == "__main__":
    main()

"""What the session-18 scripts share (run them as `python docs/benchmarks/ab-session18/X.py`,
which puts this folder on the import path): a timer, and an alternating A/B of the kernel
path's training step with other `BasisKernels` classes swapped in."""

import statistics
import sys
from pathlib import Path

import torch

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _kernel_path
from lrlc.layers import LowRankLocallyConnected2d

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ab-session17"))
from _timing import median_s  # noqa: E402


def median_ms(f, n=9):
    """Median wall time of f() in ms over n calls, after two warm-up calls (session 17's timer)."""
    return median_s(f, n) * 1e3


def timed_steps(m, x, g, records, steps=5):
    """(median ms of `steps` training steps of m, how many steps `records` then covers): one
    cold step first, whose entries are cleared from `records` (a dict of lists the step's
    instrumented parts append to); the timer's two warm-up steps stay in them."""
    m(x).backward(g)
    for v in records.values():
        v.clear()
    return median_ms(lambda: m(x).backward(g), steps), steps + 2


def kernel_path_ab(n, k, rounds, variants):
    """Training steps of a 64 -> 64, 3x3 LRLC layer on the kernel path (float32, NCHW, 24 x 24,
    batch n, rank k) with each (name, kernels class) of `variants` swapped in: prints the
    largest difference of outputs and gradients from the first, then returns {name: median
    ms of 3 steps, per round}, the variants alternating in each round so that all of them
    see the same state of the machine."""
    keep_freed_memory()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
    x = torch.randn(n, 64, 24, 24, requires_grad=True)
    g = torch.randn_like(m(x))
    results = []
    for _, cls in variants:
        _kernel_path.BasisKernels = cls
        m.zero_grad()
        x.grad = None
        y = m(x)
        y.backward(g)
        results.append([y.detach(), x.grad, *(p.grad for p in m.parameters())])
    diff = max((a - b).abs().max().item() for r in results[1:] for a, b in zip(results[0], r))
    print(f"N = {n}, K = {k}: largest difference {diff:.1e} (float32)")
    times = {name: [] for name, _ in variants}
    for _ in range(rounds):
        for name, cls in variants:
            _kernel_path.BasisKernels = cls
            m(x).backward(g)
            times[name].append(median_ms(lambda: m(x).backward(g), 3))
    return times


def report(times):
    for name, v in times.items():
        med = statistics.median(v)
        print(f"  {name:12s} step median {med:.1f} ms (min {min(v):.1f}, max {max(v):.1f})")


def report_by_state(times, base, other):
    """Median step of `base` and `other` in the rounds of the VM's slow state (session 18: base
    above 1.2x its fastest round) and in the rest, apart."""
    b, o = times[base], times[other]
    slow = [i for i, t in enumerate(b) if t > 1.2 * min(b)]
    fast = [i for i in range(len(b)) if i not in slow]
    for label, idx in (("slow", slow), ("fast", fast)):
        if idx:
            mb, mo = (statistics.median(v[i] for i in idx) for v in (b, o))
            print(f"  {len(idx)} rounds in the {label} state: {base} {mb:.1f}, {other} {mo:.1f} ms")

"""What session 22's scripts share (run them as `python docs/benchmarks/ab-session22/X.py`,
which puts this folder on the import path): the 64 -> 64, 3x3 case at 24 x 24 and a timer."""

import time

import torch

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LowRankLocallyConnected2d


def case(n: int, ranks, fmt=torch.channels_last):
    """The trainer's allocator setting and 2 threads; x (requiring grad), dL/dy, a convolution
    and the kernel path at each rank, all in `fmt`."""
    keep_freed_memory()
    torch.set_num_threads(2)
    x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
    g = torch.randn(n, 64, 22, 22).to(memory_format=fmt)
    conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
    mods = {
        k: LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel").to(
            memory_format=fmt
        )
        for k in ranks
    }
    return x, g, conv, mods


def best_of(f, reps: int = 3) -> float:
    """Seconds: the fastest of `reps` calls of f after one warm-up call."""
    f()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def dw_operands(k: int, rows: int = 22, x: int = 12288):
    """dW (rows, x) and three bases (k, x): one output row's dw at 64 channels, 3x3."""
    return torch.randn(rows, x), [torch.randn(k, x) for _ in range(3)]

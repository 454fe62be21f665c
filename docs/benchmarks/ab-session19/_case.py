"""What the session-19 scripts share (run them as `python docs/benchmarks/ab-session19/X.py`,
which puts this folder on the import path): the case named on the command line."""

import sys
from pathlib import Path

import torch

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LowRankLocallyConnected2d

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ab-session17"))
from _timing import median_s  # noqa: E402


def kernel_path_case():
    """argv N K [cl]: a 64 -> 64, 3x3 LRLC layer on the kernel path (float32, 24 x 24, batch
    N, rank K, channels_last if asked), its input (requiring grad) and an output gradient,
    with the trainer's allocator setting and 2 threads."""
    n, k = int(sys.argv[1]), int(sys.argv[2])
    cl = len(sys.argv) > 3 and sys.argv[3] == "cl"
    keep_freed_memory()
    torch.set_num_threads(2)
    fmt = torch.channels_last if cl else torch.contiguous_format
    x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
    m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
    m = m.to(memory_format=fmt)
    return m, x, torch.randn_like(m(x)), f"N={n} K={k} {'channels_last' if cl else 'NCHW'}"


def median_ms(f, reps=5):
    """Median wall time of f() in ms over `reps` calls after two warm-up calls (session 17's
    timer, `docs/benchmarks/ab-session17/_timing.py`)."""
    return median_s(f, reps) * 1e3

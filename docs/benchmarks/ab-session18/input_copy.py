"""A/B, not kept (session 18): training reads an unpadded channels_last input in place (the
library since session 16) or through the (Hp, N, Wp, C) copy NCHW inputs get. Float32,
alternating rounds. Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/input_copy.py N K
ROUNDS`."""

import statistics
import sys

import torch
from _ab import median_ms

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _kernel_path, _rows
from lrlc.layers import LowRankLocallyConnected2d

keep_freed_memory()
torch.set_num_threads(2)
n, k, rounds = (int(a) for a in sys.argv[1:4])
variants = (("in place", _kernel_path.training_input), ("copy", _rows.pad_hnwc))
m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
m = m.to(memory_format=torch.channels_last)
x = torch.randn(n, 64, 24, 24).contiguous(memory_format=torch.channels_last).requires_grad_()
g = torch.randn_like(m(x))
times = {name: [] for name, _ in variants}
for _ in range(rounds):
    for name, f in variants:
        _kernel_path.training_input = f
        times[name].append(median_ms(lambda: m(x).backward(g), 3))
for name, v in times.items():
    print(f"N = {n}, K = {k}, {name}: median {statistics.median(v):.1f} ms, fastest {min(v):.1f}")

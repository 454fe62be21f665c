import sys

import torch

from lrlc.bench.harness import peak_memory_bytes
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LowRankLocallyConnected2d

keep_freed_memory()
torch.set_num_threads(2)
n = int(sys.argv[1])
fmt = torch.channels_last
x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
g = torch.randn(n, 64, 22, 22).to(memory_format=fmt)
conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)


def step(m):
    def f():
        m.zero_grad(set_to_none=True)
        x.grad = None
        m(x).backward(g)

    return f


c = peak_memory_bytes(step(conv))
for k in [int(v) for v in sys.argv[2].split(",")]:
    m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel").to(
        memory_format=fmt
    )
    p = peak_memory_bytes(step(m))
    print(f"N={n} K={k}: {p / 2**20:.1f} MiB, conv {c / 2**20:.1f}, ratio {p / c:.3f}")

import os
import sys
import time

import torch

os.environ["LRLC_PROF"] = "1"
import lrlc.functional._native.program as P
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LowRankLocallyConnected2d

keep_freed_memory()
torch.set_num_threads(2)
n = int(sys.argv[1])
ks = [int(k) for k in sys.argv[2].split(",")]
fmt = torch.channels_last
x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
g = torch.randn(n, 64, 22, 22).to(memory_format=fmt)
names = ["bar", "copy", "bar", "dW", "bar", "dF", "dw", "placed", "bar", "dx"]
conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
for k in ks:
    m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel").to(
        memory_format=fmt
    )
    for _ in range(2):
        m(x).backward(g)
    P.PROF.zero_()
    reps = 5
    tb = 0
    for _ in range(reps):
        y = m(x)
        t = time.perf_counter()
        y.backward(g)
        tb += time.perf_counter() - t
    pr = P.PROF.view(2, 64)[:, : len(names)] / reps * 1e3
    print(f"K={k} backward {tb / reps * 1e3:.1f} ms; per step ms (thread0/thread1):")
    print("  " + "  ".join(f"{nm}={pr[0, i]:.1f}/{pr[1, i]:.1f}" for i, nm in enumerate(names)))
for _ in range(2):
    conv(x).backward(g)
tb = 0
for _ in range(5):
    y = conv(x)
    t = time.perf_counter()
    y.backward(g)
    tb += time.perf_counter() - t
print(f"conv backward {tb / 5 * 1e3:.1f} ms")

"""Session 20: what a kernel-path training step costs whatever the batch, read at N = 2 (64 ->
64 channels, 3x3, 24 x 24, channels_last, float32, 2 threads): the row loops' Python, the
kernel calls and the K-dependent products. Two checkouts in alternating processes, as
`trees_ab.py`. Usage:
    python docs/benchmarks/ab-session20/fixed_cost.py OLD_SRC NEW_SRC K [rounds]"""

import os
import statistics
import subprocess
import sys

CHILD = r"""
import statistics, sys, time, torch
from lrlc.layers import LowRankLocallyConnected2d
torch.set_num_threads(2)
k = int(sys.argv[1])
fmt = torch.channels_last
x = torch.randn(2, 64, 24, 24).to(memory_format=fmt).requires_grad_()
m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
m = m.to(memory_format=fmt)
g = torch.randn_like(m(x))
for _ in range(3):
    m(x).backward(g)
ts = []
for _ in range(15):
    t = time.perf_counter()
    m(x).backward(g)
    ts.append(time.perf_counter() - t)
print(f"{statistics.median(ts) * 1e3:.3f}")
"""


def main():
    old, new, k = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    res = {"old": [], "new": []}
    for r in range(rounds):
        order = (("old", old), ("new", new))
        for name, src in order if r % 2 == 0 else order[::-1]:
            env = dict(os.environ, PYTHONPATH=src)
            out = subprocess.run([sys.executable, "-c", CHILD, k], env=env, capture_output=True,
                                 text=True, check=True)  # fmt: skip
            res[name].append(float(out.stdout.split()[-1]))
            print(f"round {r} {name}: {res[name][-1]:.2f} ms a step at N = 2")
    for name, v in res.items():
        print(f"{name}: median {statistics.median(v):.2f} ms ({' '.join(f'{t:.1f}' for t in v)})")


if __name__ == "__main__":
    main()

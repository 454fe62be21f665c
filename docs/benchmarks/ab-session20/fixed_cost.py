"""Session 20: what a kernel-path training step costs whatever the batch, read at N = 2 (64 ->
64 channels, 3x3, 24 x 24, channels_last, float32, 2 threads): the row loops' Python, the
kernel calls and the K-dependent products. Two checkouts in alternating processes, as
`trees_ab.py`. Usage:
    python docs/benchmarks/ab-session20/fixed_cost.py OLD_SRC NEW_SRC K [rounds]"""

import sys

from _alternate import alternate, medians

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
    res = alternate(old, new, CHILD, [k], rounds)
    for name, runs in res.items():
        steps = [run[0] for run in runs]
        print(f"{name}: median {medians(runs)[0]:.2f} ms ({' '.join(f'{t:.1f}' for t in steps)})")


if __name__ == "__main__":
    main()

"""Session 20: one kernel-path (or LocallyConnected2d, K = 0) training step under two checkouts
of the library, in alternating processes; in each, 7 steps interleaved with convolution steps,
the ratio of each to the mean of its two neighbouring convolutions, and their median. Usage:
    python docs/benchmarks/ab-session20/trees_ab.py OLD_SRC NEW_SRC N K [cl] [rounds] [infer]
OLD_SRC / NEW_SRC: the `src` folders of the two checkouts (a `git worktree` of the base)."""

import os
import statistics
import subprocess
import sys

CHILD = r"""
import statistics, sys, time, torch
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LocallyConnected2d, LowRankLocallyConnected2d
n, k, cl, infer = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "cl", sys.argv[4] == "1"
keep_freed_memory()
torch.set_num_threads(2)
torch.manual_seed(0)
fmt = torch.channels_last if cl else torch.contiguous_format
x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_(not infer)
if k == 0:
    m = LocallyConnected2d(64, 64, 3, input_size=(24, 24))
else:
    m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
conv = torch.nn.Conv2d(64, 64, 3)
m, conv = m.to(memory_format=fmt), conv.to(memory_format=fmt)
g = torch.randn_like(conv(x))
def step(f):
    if infer:
        with torch.inference_mode():
            f(x)
    else:
        f(x).backward(g)
def once(f):
    t0 = time.perf_counter(); step(f); return time.perf_counter() - t0
for f in (conv, m, conv, m):
    step(f)
# interleaved, each step beside the convolutions just before and after it: the VM's speed
# drifts within seconds, and a ratio of neighbours follows it
cs, ss = [once(conv)], []
for _ in range(7):
    ss.append(once(m)); cs.append(once(conv))
ratios = [s / ((a + b) / 2) for s, a, b in zip(ss, cs, cs[1:])]
step_ms, conv_ms = statistics.median(ss) * 1e3, statistics.median(cs) * 1e3
print(f"{step_ms:.2f} {conv_ms:.2f} {statistics.median(ratios):.4f}")
"""


def main():
    old, new, n, k = sys.argv[1:5]
    cl = "cl" if len(sys.argv) > 5 and sys.argv[5] == "cl" else "nchw"
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    infer = "1" if len(sys.argv) > 7 and sys.argv[7] == "infer" else "0"
    ratios = {"old": [], "new": []}
    for r in range(rounds):
        order = (("old", old), ("new", new))
        for name, src in order if r % 2 == 0 else order[::-1]:
            env = dict(os.environ, PYTHONPATH=src)
            cmd = [sys.executable, "-c", CHILD, n, k, cl, infer]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            step, conv, ratio = map(float, out.stdout.split())
            ratios[name].append(ratio)
            print(f"round {r} {name}: step {step:.1f} ms, conv {conv:.1f} ms, {ratio:.3f}x")
    for name, rs in ratios.items():
        print(f"{name}: median {statistics.median(rs):.3f}x  ({' '.join(f'{v:.2f}' for v in rs)})")


if __name__ == "__main__":
    main()

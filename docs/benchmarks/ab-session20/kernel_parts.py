"""Session 20: the K-dependent parts of one kernel-path training step timed alone, pass by pass
(every output row and kernel row, 64 -> 64 channels, 3x3, 22 x 22 output, float32): the
forward's filter builds, dL/dx's placed filters, and the gradients to the bases and weights
(dF and dw). Under two checkouts in alternating processes, as `trees_ab.py`. Usage:
    python docs/benchmarks/ab-session20/kernel_parts.py OLD_SRC NEW_SRC K [rounds]"""

import sys

from _alternate import alternate, medians

CHILD = r"""
import statistics, sys, time, torch
from lrlc.functional._basis_rows import BasisKernels
torch.set_num_threads(2)
k = int(sys.argv[1])
bases = torch.randn(k, 64, 64, 3, 3)
weights = torch.softmax(torch.randn(k, 22, 22), 0)
kern = BasisKernels(bases, weights, need_grads=True)
diag = torch.zeros(24, 3, 64, 64)
grad = torch.randn(22, 64, 192)
def builds():
    for i in range(22):
        for a in range(3):
            kern.kernel_row(i, a)
def places():
    for i in range(22):
        for a in range(3):
            kern.place_transposed(i, a, diag)
def grads():
    for i in range(22):
        for a in range(3):
            kern.add_grad(i, a, grad)
out = []
for f in (builds, places, grads):
    f(); f()
    ts = []
    for _ in range(9):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    out.append(statistics.median(ts) * 1e3)
print(" ".join(f"{v:.3f}" for v in out))
"""


def main():
    old, new, k = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    for name, runs in alternate(old, new, CHILD, [k], rounds).items():
        b, p, g = medians(runs)
        print(f"{name}: builds {b:.2f}  places {p:.2f}  grads (dF + dw) {g:.2f} ms a pass")


if __name__ == "__main__":
    main()

"""Session 20: one kernel-path training step under two checkouts of the library, in
alternating processes; in each, 7 steps interleaved with convolution steps, the ratio of each
to the mean of its two neighbouring convolutions, and their median. The layer is session 19's
case (`ab-session19/_case.py`: 64 -> 64, 3x3, 24 x 24, float32, 2 threads). Usage:
    python docs/benchmarks/ab-session20/trees_ab.py OLD_SRC NEW_SRC N K [cl] [rounds]
OLD_SRC / NEW_SRC: the `src` folders of the two checkouts (a `git worktree` of the base)."""

import statistics
import sys
from pathlib import Path

from _alternate import alternate

CHILD = r"""
import sys, time, torch
sys.path.insert(0, sys.argv.pop(1))
sys.path.insert(0, sys.argv.pop(1))
from _alternate import neighbour_ratios
from _case import kernel_path_case
m, x, g, _ = kernel_path_case()
conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=torch.channels_last if sys.argv[3:] == ["cl"]
                                     else torch.contiguous_format)
def once(f):
    t0 = time.perf_counter(); f(x).backward(g); return time.perf_counter() - t0
print(neighbour_ratios(once, m, conv, 7))
"""


def main():
    old, new, n, k = sys.argv[1:5]
    cl = "cl" if len(sys.argv) > 5 and sys.argv[5] == "cl" else "nchw"
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    here = Path(__file__).resolve().parent
    case_dir = str(here.parent / "ab-session19")
    here = str(here)
    for name, runs in alternate(old, new, CHILD, [case_dir, here, n, k, cl], rounds).items():
        ratios = [run[2] for run in runs]
        shown = " ".join(f"{v:.2f}" for v in ratios)
        print(f"{name}: median {statistics.median(ratios):.3f}x  ({shown})")


if __name__ == "__main__":
    main()

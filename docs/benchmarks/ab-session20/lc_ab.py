"""Session 20: `LocallyConnected2d` (64 -> 64, 3x3, 24 x 24, float32, 2 threads, channels_last
or NCHW) inference or a training step under two checkouts of the library, in alternating processes;
in each, 9 calls interleaved with those of a convolution, the ratio of each to the mean of
its two neighbouring convolution calls, and their median. Usage:
    python docs/benchmarks/ab-session20/lc_ab.py OLD_SRC NEW_SRC N infer|train [cl|nchw] [rounds]"""

import statistics
import sys
from pathlib import Path

from _alternate import alternate

HERE = str(Path(__file__).resolve().parent)

CHILD = r"""
import sys, time, torch
sys.path.insert(0, sys.argv.pop(1))
from _alternate import neighbour_ratios
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LocallyConnected2d
keep_freed_memory()
torch.set_num_threads(2)
torch.manual_seed(0)
n, train = int(sys.argv[1]), sys.argv[2] == "train"
cl = torch.channels_last if sys.argv[3] == "cl" else torch.contiguous_format
x = torch.randn(n, 64, 24, 24).to(memory_format=cl).requires_grad_(train)
m = LocallyConnected2d(64, 64, 3, input_size=(24, 24)).to(memory_format=cl)
conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=cl)
g = torch.randn(n, 64, 22, 22).to(memory_format=cl)
def once(f):
    t0 = time.perf_counter()
    if train:
        f(x).backward(g)
    else:
        with torch.inference_mode():
            f(x)
    return time.perf_counter() - t0
print(neighbour_ratios(once, m, conv, 9))
"""


def main():
    old, new, n, mode = sys.argv[1:5]
    layout = sys.argv[5] if len(sys.argv) > 5 else "cl"
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    for name, runs in alternate(old, new, CHILD, [HERE, n, mode, layout], rounds).items():
        ratios = [run[2] for run in runs]
        shown = " ".join(f"{v:.3f}" for v in ratios)
        print(f"{name}: median {statistics.median(ratios):.3f}x  ({shown})")


if __name__ == "__main__":
    main()

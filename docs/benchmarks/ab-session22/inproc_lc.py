import statistics as st
import sys

import torch
from _setup import best_of as t
from _setup import case

import lrlc.functional._kernel_path as kp
from lrlc.layers import LocallyConnected2d

n = int(sys.argv[1])
rounds = int(sys.argv[2])
cl = len(sys.argv) < 4 or sys.argv[3] == "cl"
fmt = torch.channels_last if cl else torch.contiguous_format
x, g, conv, _ = case(n, (), fmt)
lc = LocallyConnected2d(64, 64, 3, input_size=(24, 24)).to(memory_format=fmt)
real = kp._WeightKernels.takes_program
res = {"conv": [], "loop": [], "program": []}
for _r in range(rounds):
    res["conv"].append(t(lambda: conv(x).backward(g)))
    kp._WeightKernels.takes_program = lambda self: False
    res["loop"].append(t(lambda: lc(x).backward(g)))
    kp._WeightKernels.takes_program = real
    res["program"].append(t(lambda: lc(x).backward(g)))
c = st.median(res["conv"])
pr = [p / q for p, q in zip(res["program"], res["loop"], strict=True)]
loop, one = st.median(res["loop"]), st.median(res["program"])
print(
    f"N={n} {'CL' if cl else 'NCHW'} conv {c * 1e3:.1f} ms; LC row loop {loop * 1e3:.1f} ms "
    f"x{loop / c:.3f}; one call {one * 1e3:.1f} ms x{one / c:.3f}; per round "
    f"{st.median(pr):.3f} ({', '.join(f'{p:.2f}' for p in pr)})"
)

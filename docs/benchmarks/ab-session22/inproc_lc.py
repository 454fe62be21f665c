import sys, time, statistics as st, torch
import lrlc.functional._kernel_path as kp
from lrlc.layers import LocallyConnected2d
from _setup import best_of as t, case
n = int(sys.argv[1]); rounds = int(sys.argv[2]); cl = len(sys.argv) < 4 or sys.argv[3] == "cl"
fmt = torch.channels_last if cl else torch.contiguous_format
x, g, conv, _ = case(n, (), fmt)
lc = LocallyConnected2d(64, 64, 3, input_size=(24, 24)).to(memory_format=fmt)
real = kp._WeightKernels.takes_program
res = {"conv": [], "loop": [], "program": []}
for r in range(rounds):
    res["conv"].append(t(lambda: conv(x).backward(g)))
    kp._WeightKernels.takes_program = lambda self: False
    res["loop"].append(t(lambda: lc(x).backward(g)))
    kp._WeightKernels.takes_program = real
    res["program"].append(t(lambda: lc(x).backward(g)))
c = st.median(res["conv"])
pr = [p / l for p, l in zip(res["program"], res["loop"])]
print(f"N={n} {'CL' if cl else 'NCHW'} conv {c*1e3:.1f} ms; LC row loop {st.median(res['loop'])*1e3:.1f} ms x{st.median(res['loop'])/c:.3f}; one call {st.median(res['program'])*1e3:.1f} ms x{st.median(res['program'])/c:.3f}; per round {st.median(pr):.3f} ({', '.join(f'{p:.2f}' for p in pr)})")

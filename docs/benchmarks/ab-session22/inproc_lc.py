import sys, time, statistics as st, torch
import lrlc.functional._kernel_path as kp
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LocallyConnected2d
keep_freed_memory(); torch.set_num_threads(2)
n = int(sys.argv[1]); rounds = int(sys.argv[2]); cl = len(sys.argv) < 4 or sys.argv[3] == "cl"
fmt = torch.channels_last if cl else torch.contiguous_format
x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
g = torch.randn(n, 64, 22, 22).to(memory_format=fmt)
conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
lc = LocallyConnected2d(64, 64, 3, input_size=(24, 24)).to(memory_format=fmt)
real = kp._WeightKernels.takes_program
def t(f, reps=3):
    f(); ts = []
    for _ in range(reps):
        s = time.perf_counter(); f(); ts.append(time.perf_counter() - s)
    return min(ts)
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

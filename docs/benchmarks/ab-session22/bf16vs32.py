import sys, time, statistics as st, torch
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LowRankLocallyConnected2d
keep_freed_memory(); torch.set_num_threads(2)
n = int(sys.argv[1]); ks = [int(k) for k in sys.argv[2].split(",")]
fmt = torch.channels_last
x32 = torch.randn(n, 64, 24, 24).to(memory_format=fmt)
xb = x32.bfloat16().requires_grad_(); x32.requires_grad_()
g32 = torch.randn(n, 64, 22, 22).to(memory_format=fmt); gb = g32.bfloat16()
conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
def t(f, reps=3):
    f(); ts = []
    for _ in range(reps):
        s = time.perf_counter(); f(); ts.append(time.perf_counter() - s)
    return min(ts)
def bf(m):
    def f():
        with torch.autocast("cpu", torch.bfloat16):
            y = m(xb)
        y.backward(gb if y.dtype == torch.bfloat16 else g32)
    return f
def fp(m):
    return lambda: m(x32).backward(g32)
mods = {k: LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel").to(memory_format=fmt) for k in ks}
res = {}
for r in range(5):
    res.setdefault("conv bf16", []).append(t(bf(conv))); res.setdefault("conv fp32", []).append(t(fp(conv)))
    for k, m in mods.items():
        res.setdefault(f"K{k} bf16", []).append(t(bf(m))); res.setdefault(f"K{k} fp32", []).append(t(fp(m)))
for k, v in res.items(): print(f"N={n} {k:10s} {st.median(v)*1e3:7.1f} ms")

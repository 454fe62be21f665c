import time, torch, statistics as st
from torch.profiler import profile
torch.set_num_threads(2)
N, C, W, Wo, H = 512, 64, 24, 22, 24
def bench(f, r=15):
    for _ in range(3): f()
    ts=[]
    for _ in range(r):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return st.median(ts)*1e3
x = torch.randn(H, N, W, C)
w = torch.randn(Wo, 3, 3*C, C)
bias = torch.randn(Wo, 1, C)
def views(i): return [x[i+a].as_strided((Wo, N, 3*C), (C, W*C, 1), x[i+a].storage_offset()) for a in range(3)]
acc0 = torch.empty(Wo, N, C)
def cur():
    ps = views(0); acc = torch.baddbmm(bias, ps[0], w[:, 0])
    for a in (1, 2): acc.baddbmm_(ps[a], w[:, a])
    return acc
def pre():
    ps = views(0); acc0.copy_(bias.expand_as(acc0))
    for a in (0, 1, 2): acc0.baddbmm_(ps[a], w[:, a])
def outs():
    ps = views(0); torch.bmm(ps[0], w[:, 0], out=acc0)
    for a in (1, 2): torch.baddbmm(acc0, ps[a], w[:, a], out=acc0)
wc = w.contiguous(); wcs = [wc[:, a].contiguous() for a in range(3)]
def curc():
    ps = views(0); acc = torch.baddbmm(bias, ps[0], wcs[0])
    for a in (1, 2): acc.baddbmm_(ps[a], wcs[a])
    return acc
for f in (cur, pre, outs, curc):
    print(f.__name__, "%.2f ms" % bench(f))
with profile() as p:
    for i in range(5): cur()
print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=6))

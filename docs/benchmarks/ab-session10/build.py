import sys, time, statistics as st, torch
sys.path.insert(0, "/work/dev/src")
from lrlc.functional._rows import pad_hnwc
torch.set_num_threads(2)
C, K, S, O, R = 64, 3, 24, 22, 4
def tmall(fns, reps=9):
    for f in fns.values(): f(); f()
    ts = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t=time.perf_counter(); f(); ts[k].append(time.perf_counter()-t)
    return {k: round(st.median(v)*1e3,1) for k, v in ts.items()}
for n in (128, 512):
    x = torch.randn(n, C, S, S)
    xp = pad_hnwc(x, (0,0,0,0)); hp, _, wp, c = xp.shape
    flat = torch.randn(R, K * K * C * C)
    flat3 = flat.view(R, K, K * C * C)
    wts = torch.softmax(torch.randn(R, O, O), 0)
    def P(i, a): return xp.as_strided((O, n, K*c), (c, wp*c, 1), xp.storage_offset() + (i+a)*n*wp*c)
    def cur():
        for i in range(O):
            w = (wts[:, i].t() @ flat).view(O, K, K * C, C)
            acc = None
            for a in range(K):
                acc = torch.bmm(P(i, a), w[:, a]) if acc is None else acc.baddbmm_(P(i, a), w[:, a])
    buf = torch.empty(O, K * C * C)
    def per_a():
        for i in range(O):
            acc = None
            wt = wts[:, i].t()
            for a in range(K):
                torch.mm(wt, flat3[:, a], out=buf)
                m = buf.view(O, K * C, C)
                acc = torch.bmm(P(i, a), m) if acc is None else acc.baddbmm_(P(i, a), m)
    def build_only():
        for i in range(O):
            w = (wts[:, i].t() @ flat)
    def build_only_a():
        for i in range(O):
            wt = wts[:, i].t()
            for a in range(K): torch.mm(wt, flat3[:, a], out=buf)
    print(n, tmall({"cur": cur, "per_a": per_a, "build": build_only, "build_a": build_only_a}), flush=True)

import sys, time, statistics as st, torch
sys.path.insert(0, "/work/main/src")
from lrlc.functional._rows import pad_hnwc
torch.set_num_threads(2)
C, K, S, O = 64, 3, 24, 22
def tmall(fns, reps=9):
    for f in fns.values(): f(); f()
    ts = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t=time.perf_counter(); f(); ts[k].append(time.perf_counter()-t)
    return {k: round(st.median(v)*1e3,1) for k, v in ts.items()}
dt = torch.bfloat16
for n in (128, 512):
    x = torch.randn(n, C, S, S).to(dt)
    xp = pad_hnwc(x, (0,0,0,0)); hp, _, wp, c = xp.shape
    gb = torch.randn(O, n, O, C).to(dt)
    out2 = torch.empty(K, O, C, K*C, dtype=dt)
    def P(i, a): return xp.as_strided((O, n, K*c), (c, wp*c, 1), xp.storage_offset() + (i+a)*n*wp*c)
    def run(copy_p, copy_g):
        def f():
            for i in range(O):
                g_t = gb[i].transpose(0, 1).transpose(1, 2)
                if copy_g: g_t = g_t.contiguous()
                for a in range(K):
                    p = P(i, a)
                    if copy_p: p = p.contiguous()
                    torch.bmm(g_t, p, out=out2[a])
        return f
    print(n, tmall({"copyP": run(True, False), "direct": run(False, False), "copyP_copyG": run(True, True), "copyG": run(False, True)}), flush=True)

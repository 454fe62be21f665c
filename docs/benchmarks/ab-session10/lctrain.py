import sys, time, statistics as st, torch
sys.path.insert(0, sys.argv[1])
from lrlc import LocallyConnected2d
torch.set_num_threads(2)
C, K, S = 64, 3, 24
def tmall(fns, reps=7):
    for f in fns.values(): f(); f()
    ts = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t=time.perf_counter(); f(); ts[k].append(time.perf_counter()-t)
    return {k: round(st.median(v)*1e3,1) for k, v in ts.items()}
for n in (128, 512):
    x = torch.randn(n, C, S, S, requires_grad=True)
    g = torch.randn(n, C, S - 2, S - 2)
    conv = torch.nn.Conv2d(C, C, K)
    lc_rows = LocallyConnected2d(C, C, K, S)
    lc_old = LocallyConnected2d(C, C, K, S)
    lc_old.weight = torch.nn.Parameter(lc_rows.weight.detach().contiguous())
    print("strides", lc_rows.weight.stride(), lc_old.weight.stride())
    def step(m):
        def f():
            m.zero_grad(set_to_none=True); x.grad = None
            m(x).backward(g)
        return f
    def inf(m):
        def f():
            with torch.no_grad(): m(x)
        return f
    r = tmall({"conv": step(conv), "lc_rows": step(lc_rows), "lc_old": step(lc_old)})
    print(n, "train", r, {k: round(v / r["conv"], 2) for k, v in r.items()}, flush=True)
    r = tmall({"conv": inf(conv), "lc_rows": inf(lc_rows), "lc_old": inf(lc_old)})
    print(n, "infer", r, {k: round(v / r["conv"], 2) for k, v in r.items()}, flush=True)

import sys, time, statistics as st, torch
sys.path.insert(0, "/work/dev/src")
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
for dt in (torch.float32,):
  for n in (128, 512):
    x = torch.randn(n, C, S, S).to(dt)
    xp = pad_hnwc(x, (0,0,0,0)); hp, _, wp, c = xp.shape
    g = torch.randn(O, n, C).to(dt)
    gt = g.transpose(1, 2).contiguous()  # (O, C_out, n)
    out = torch.empty(K, O, K*C, C); out2 = torch.empty(K, O, C, K*C)
    def P(i, a): return xp.as_strided((O, n, K*c), (c, wp*c, 1), xp.storage_offset() + (i+a)*n*wp*c)
    def cur():
        for i in range(O):
            for a in range(K): torch.bmm(P(i, a).transpose(1, 2), g, out=out[a])
    def swapped():
        for i in range(O):
            for a in range(K): torch.bmm(g.transpose(1, 2), P(i, a), out=out2[a])
    def swapped_gt():
        for i in range(O):
            for a in range(K): torch.bmm(gt, P(i, a), out=out2[a])
    def fwd():
        w = torch.randn(O, K*C, C)
        for i in range(O):
            for a in range(K): torch.bmm(P(i, a), w)
    print(dt, n, tmall({"cur": cur, "swapped": swapped, "swapped_gt": swapped_gt, "fwd": fwd}), flush=True)

import sys, time, statistics as st, torch
sys.path.insert(0, "/work/dev/src")
from lrlc.experiments.run.memory import keep_freed_memory; keep_freed_memory()
torch.set_num_threads(2)
def t(f, r=9):
    f(); ts=[]
    for _ in range(r):
        a=time.perf_counter(); f(); ts.append(time.perf_counter()-a)
    return round(st.median(ts)*1e3,2)
for n in (128, 512):
    H=W=22; C=64
    rows = [torch.randn(W, n, C) for _ in range(H)]
    buf = torch.randn(H, W, n, C)
    def cur():
        out = torch.empty(n, C, H, W)
        for i in range(H):
            out[:, :, i] = rows[i].permute(1, 2, 0)
        return out
    def whole():
        out = torch.empty(n, C, H, W)
        out.view(n * C, H * W).copy_(buf.view(H * W, n * C).t())
        return out
    def whole_cl():
        return buf.permute(2, 3, 0, 1).contiguous()
    print(n, "per-row", t(cur), "whole 2D transpose", t(whole), "contiguous()", t(whole_cl))

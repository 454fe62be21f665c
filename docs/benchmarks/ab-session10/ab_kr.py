import sys, time, statistics as st, torch
sys.path.insert(0, "/work/dev/src")
from lrlc import LowRankLocallyConnected2d
from lrlc.functional import _kernel_path as KP
from lrlc.functional._rows import RowKernels
torch.set_num_threads(2)
C, K, S = 64, 3, 24
new_kr = KP._BasisKernels.kernel_row
variants = {"old": RowKernels.kernel_row, "new": new_kr}
for n in (128, 512):
    x = torch.randn(n, C, S, S, requires_grad=True)
    g = torch.randn(n, C, S - 2, S - 2)
    m = LowRankLocallyConnected2d(C, C, K, S, rank=4, path="kernel")
    def step():
        m.zero_grad(set_to_none=True); x.grad = None
        m(x).backward(g)
    ts = {k: [] for k in variants}
    for r in range(12):
        for k, f in variants.items():
            KP._BasisKernels.kernel_row = f
            if r == 0: step()
            t = time.perf_counter(); step(); ts[k].append(time.perf_counter() - t)
    med = {k: round(st.median(v) * 1e3, 1) for k, v in ts.items()}
    print(n, med, "new/old %.3f" % (med["new"] / med["old"]), flush=True)

import sys, time, statistics as st, torch
sys.path.insert(0, "/work/dev/src")
from lrlc.functional._rows import pad_hnwc, pad_nhwc, _row_filter_grad
from lrlc.functional._kernel_path import _geometry
torch.set_num_threads(2)
C, K, S, O = 64, 3, 24, 22
def tmall(fns, reps=9):
    for f in fns.values(): f(); f()
    ts = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t=time.perf_counter(); f(); ts[k].append(time.perf_counter()-t)
    return {k: round(st.median(v)*1e3,1) for k, v in ts.items()}
for dt in (torch.float32, torch.bfloat16):
  for n in (128, 512):
    x = torch.randn(n, C, S, S).to(dt).contiguous(memory_format=torch.channels_last)
    a = pad_hnwc(x, (0,0,0,0)); b = pad_nhwc(x, (0,0,0,0), dt)
    assert b.data_ptr() == x.data_ptr()
    geo = _geometry(a, (K, K), (1, 1), (1, 1), (O, O))
    g = torch.randn(O, n, C).to(dt)
    def dw(xp):
        return lambda: [_row_filter_grad(xp, g, geo, i) for i in range(O)]
    with torch.no_grad():
        print(dt, n, tmall({"hnwc": dw(a), "nhwc_view": dw(b), "pad_hnwc_from_cl": lambda: pad_hnwc(x, (0,0,0,0))}), flush=True)

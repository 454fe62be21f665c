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
for dt in (torch.float32, torch.bfloat16):
  for n in (128, 512):
    x = torch.randn(n, C, S, S).to(dt)
    xcl = x.contiguous(memory_format=torch.channels_last)
    nhwc = xcl.permute(0, 2, 3, 1)  # dense (N, H, W, C)
    rows = torch.randn(O, O, K, K*C, C).to(dt)
    xp = pad_hnwc(x, (0,0,0,0))
    wconv = torch.randn(C, C, 3, 3).to(dt)
    def prods_hnwc():
        for i in range(O):
            acc=None
            for a in range(K):
                p = xp.as_strided((O, n, K*C), (C, S*C, 1), xp.storage_offset() + (i+a)*n*S*C)
                acc = torch.bmm(p, rows[i, :, a]) if acc is None else acc.baddbmm_(p, rows[i, :, a])
    def prods_nhwc():
        for i in range(O):
            acc=None
            for a in range(K):
                p = nhwc.as_strided((O, n, K*C), (C, S*S*C, 1), nhwc.storage_offset() + (i+a)*S*C)
                acc = torch.bmm(p, rows[i, :, a]) if acc is None else acc.baddbmm_(p, rows[i, :, a])
    with torch.no_grad():
        print(dt, n, tmall({"conv": lambda: torch.nn.functional.conv2d(x, wconv), "hnwc": prods_hnwc, "nhwc": prods_nhwc}), flush=True)

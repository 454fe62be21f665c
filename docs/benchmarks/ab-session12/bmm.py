import time, torch, statistics as st
torch.set_num_threads(2)
N, C, W, Wo = 512, 64, 24, 22
def bench(f, r=15):
    for _ in range(3): f()
    ts=[]
    for _ in range(r):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return st.median(ts)*1e3
for dt in (torch.float32, torch.bfloat16):
    row = torch.randn(N, W, C).to(dt)            # one input row in (N, W, C)
    # (Wo, N, 3C) overlapping view: position j reads columns j..j+2
    ov = row.as_strided((Wo, N, 3*C), (C, W*C, 1))
    wt = torch.randn(Wo, 3*C, C).to(dt)
    out = torch.empty(Wo, N, C, dtype=dt)
    taps = [row.as_strided((Wo, N, C), (C, W*C, 1), b*C) for b in range(3)]
    wtaps = [wt[:, b*C:(b+1)*C] for b in range(3)]
    wtc = [w.contiguous() for w in wtaps]
    cont = ov.contiguous()
    print(dt, "overlap view %.2f" % bench(lambda: torch.bmm(ov, wt, out=out)),
          "| copy+bmm %.2f" % bench(lambda: torch.bmm(ov.contiguous(), wt, out=out)),
          "| contiguous %.2f" % bench(lambda: torch.bmm(cont, wt, out=out)),
          "| 3 taps %.2f" % bench(lambda: [torch.baddbmm(out, t, w, out=out) for t, w in zip(taps, wtc)]),
          "| copy only %.2f" % bench(lambda: ov.contiguous()))

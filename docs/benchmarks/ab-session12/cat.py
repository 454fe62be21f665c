import time, torch, statistics as st
torch.set_num_threads(2)
N, C, W, Wo, H = 512, 64, 24, 22, 24
def bench(f, r=15):
    for _ in range(3): f()
    ts=[]
    for _ in range(r):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return st.median(ts)*1e3
for dt in (torch.bfloat16, torch.float32):
    x = torch.randn(H, N, W, C).to(dt)   # (Hp, N, Wp, C)
    w = torch.randn(Wo, 3, 3*C, C).to(dt)  # one output row's filters (W_out, kh, kw*C, C_out)
    def views(i): return [x[i+a].as_strided((Wo, N, 3*C), (C, W*C, 1), x[i+a].storage_offset()) for a in range(3)]
    buf = torch.empty(Wo, N, 3, 3*C, dtype=dt)
    def cur():
        acc = None
        for a, p in enumerate(views(0)):
            acc = torch.bmm(p, w[:, a]) if acc is None else acc.baddbmm_(p, w[:, a])
        return acc
    def cat():
        for a, p in enumerate(views(0)):
            buf[:, :, a] = p
        return torch.bmm(buf.view(Wo, N, 9*C), w.view(Wo, 9*C, C))
    # strided non-overlapping (W_out, N, Hp, kw*C) layout: row i's patches = V[:, :, i:i+3] viewed (Wo, N, 576)
    V = torch.randn(Wo, N, H, 3*C).to(dt)
    def vlay():
        p = V[:, :, 0:3].reshape(Wo, N, 9*C) if False else V[:, :, 0:3].flatten(2) if V[:, :, 0:3].is_contiguous() else V.as_strided((Wo, N, 9*C), (N*H*3*C, H*3*C, 1))
        return torch.bmm(p, w.view(Wo, 9*C, C))
    print(dt, "3 products on views %.2f" % bench(cur), "| copy into (22,N,576) + 1 product %.2f" % bench(cat), "| strided V layout %.2f" % bench(vlay))

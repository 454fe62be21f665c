import torch, time
torch.set_num_threads(2)
N, C, Wp, Hp = 512, 64, 24, 24
xp = torch.randn(Hp, N, Wp, C)
def patches(r):  # (22, N, 192) strided view
    return xp.as_strided((22, N, 3*C), (C, Wp*C, 1), r*N*Wp*C)
wrow = torch.randn(22, 3, 192, 64)  # kernel rows, sliced per a
wcont = [wrow[:, a].contiguous() for a in range(3)]
acc = torch.empty(22, N, 64)
gw = torch.randn(24, N, 192); diag = torch.randn(24, 192, 64); dx = torch.zeros(24, N, 64)
def t(f, n=5):
    f(); ts=[]
    for _ in range(n):
        s=time.perf_counter(); f(); ts.append(time.perf_counter()-s)
    return sorted(ts)[n//2]*1e3/66
fl = 22*N*192*64*2
def fwd(ws, first_bmm=True):
    for i in range(22):
        for a in range(3):
            if a == 0 and first_bmm: torch.bmm(patches(i+a), ws(a), out=acc)
            else: acc.baddbmm_(patches(i+a), ws(a))
def fwd_contig_patches(ws):
    for i in range(22):
        for a in range(3):
            acc.baddbmm_(patches(i+a).contiguous(), ws(a))
def dxlike():
    for i in range(22):
        for a in range(3): dx.baddbmm_(gw, diag)
for name, f in [("fwd slice W", lambda: fwd(lambda a: wrow[:, a])),
                ("fwd contiguous W", lambda: fwd(lambda a: wcont[a])),
                ("fwd all baddbmm_", lambda: fwd(lambda a: wcont[a], False)),
                ("fwd patches copied", lambda: fwd_contig_patches(lambda a: wcont[a])),
                ("dx-like contiguous A", dxlike)]:
    ms = t(f); print(f"{name}: {ms:.2f} ms/product  {fl/ms/1e6:.0f} GF/s")
K = 4
wts = torch.randn(22, 22, K)  # per row (W_out, K)
flat_rows = [torch.randn(K, 192*64) for _ in range(3)]
buf = torch.empty(22, 192*64)
bufs = [torch.empty(22, 192*64) for _ in range(3)]
def fwd_build():
    for i in range(22):
        for a in range(3):
            torch.mm(wts[i], flat_rows[a], out=buf)
            acc.baddbmm_(patches(i+a), buf.view(22, 192, 64))
def fwd_build3():
    for i in range(22):
        for a in range(3): torch.mm(wts[i], flat_rows[a], out=bufs[a])
        for a in range(3): acc.baddbmm_(patches(i+a), bufs[a].view(22, 192, 64))
def build_only():
    for i in range(22):
        for a in range(3): torch.mm(wts[i], flat_rows[a], out=buf)
for name, f in [("fwd prebuilt", lambda: fwd(lambda a: wcont[a], False)), ("fwd build per (i,a)", fwd_build), ("fwd build 3 then products", fwd_build3), ("build only", build_only)]:
    ms = t(f); print(f"{name}: {ms:.2f} ms/product  {fl/ms/1e6:.0f} GF/s")

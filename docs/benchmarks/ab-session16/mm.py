import torch, time, torch.nn.functional as F
torch.set_num_threads(2)
def t(f, n=7):
    f(); f()
    ts=[]
    for _ in range(n):
        s=time.perf_counter(); f(); ts.append(time.perf_counter()-s)
    ts.sort(); return ts[n//2]
N=512
x=torch.randn(N,64,24,24); w=torch.randn(64,64,3,3)
fl=N*22*22*64*576*2
tc=t(lambda: F.conv2d(x,w))
xc=x.contiguous(memory_format=torch.channels_last)
tcl=t(lambda: F.conv2d(xc,w.contiguous(memory_format=torch.channels_last)))
a=torch.randn(22,N,192); b=torch.randn(22,192,64); o=torch.empty(22,N,64)
tb=t(lambda: [torch.bmm(a,b,out=o) for _ in range(66)])
# strided view like the rows engine: x_cl (N,24,24,64) -> row view (22 positions, N, 192) overlapping
xr=xc.permute(0,2,3,1)  # N,H,W,C contiguous
def rows():
    for i in range(22):
        for r in range(3):
            v=xr[:, i+r].as_strided((22,N,192),(64, 24*24*64, 1), xr.storage_offset()+ (i+r)*24*64)
            torch.bmm(v,b,out=o)
tr=t(rows)
print(f"conv NCHW {tc*1e3:.1f} ms {fl/tc/1e9:.0f} GF/s; conv CL {tcl*1e3:.1f} ms {fl/tcl/1e9:.0f}; bmm dense {tb*1e3:.1f} ms {fl/tb/1e9:.0f}; bmm strided rows {tr*1e3:.1f} ms {fl/tr/1e9:.0f}")
a1=torch.randn(4096,4096); 
tm=t(lambda: a1@a1,3); print(f"4096^3 sgemm {2*4096**3/tm/1e9:.0f} GF/s")

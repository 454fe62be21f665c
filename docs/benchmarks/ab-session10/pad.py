import sys, time, statistics as st, torch
sys.path.insert(0, "/work/main/src")
from lrlc.functional._rows import pad_hnwc
torch.set_num_threads(int(sys.argv[1]))
def tm(f, reps=9):
    f(); f(); ts=[]
    for _ in range(reps):
        t=time.perf_counter(); f(); ts.append(time.perf_counter()-t)
    return round(st.median(ts)*1e3,1)
def two_step(x):
    n,c,h,w = x.shape
    out = x.new_empty((h, n, w, c))
    out.copy_(x.contiguous(memory_format=torch.channels_last).permute(2, 0, 3, 1))
    return out
def chunked(x, chunks=8):
    n,c,h,w = x.shape
    out = x.new_empty((h, n, w, c))
    step = -(-n // chunks)
    for s in range(0, n, step):
        out[:, s:s+step] = x[s:s+step].permute(0, 2, 3, 1).contiguous().transpose(0, 1)
    return out
def chunked_nhwc_in(x, chunks=8):
    return chunked(x, chunks)
for dt in (torch.float32, torch.bfloat16):
  for n in (128, 512):
    x = torch.randn(n, 64, 24, 24).to(dt)
    ref = pad_hnwc(x, (0,0,0,0))
    assert torch.equal(two_step(x), ref) and torch.equal(chunked(x), ref)
    xcl = x.contiguous(memory_format=torch.channels_last)
    print(dt, n, "now", tm(lambda: pad_hnwc(x,(0,0,0,0))), "two_step", tm(lambda: two_step(x)),
          "chunk8", tm(lambda: chunked(x)), "chunk32", tm(lambda: chunked(x, 32)),
          "from_cl_now", tm(lambda: pad_hnwc(xcl,(0,0,0,0))), "nchw->cl", tm(lambda: x.contiguous(memory_format=torch.channels_last)), "clone", tm(lambda: x.clone()))

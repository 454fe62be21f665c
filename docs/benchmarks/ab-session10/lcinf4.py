import sys, time, statistics as st, torch
import torch.nn.functional as F
sys.path.insert(0, "/work/dev/src")
from lrlc import LocallyConnected2d
torch.set_num_threads(2)
C, K, S = 64, 3, 24
def old_inference(x, taps, bias, stride=(1,1), padding=(0,0,0,0), dilation=(1,1)):
    h, kh, kw, w, _, c_out = taps.shape
    n = x.shape[0]
    rows_bias = None if bias is None else bias.to(taps.dtype).permute(1, 2, 0).unsqueeze(2)
    xc = F.pad(x.to(taps.dtype), padding).permute(2, 3, 0, 1).contiguous()
    out = xc.new_empty(h, w, n, c_out)
    with torch.autocast(x.device.type, enabled=False):
        for i in range(h):
            for a in range(kh):
                row = xc[i * stride[0] + a * dilation[0]]
                for b in range(kw):
                    start = b * dilation[1]
                    xs = row[start : start + (w - 1) * stride[1] + 1 : stride[1]]
                    if a == 0 and b == 0:
                        torch.baddbmm(rows_bias[i], xs, taps[i, a, b], out=out[i])
                    else:
                        out[i].baddbmm_(xs, taps[i, a, b])
    return out.permute(2, 3, 0, 1)
for prec in sys.argv[2:] or ["fp32"]:
  for n in (128, 512):
    x = torch.randn(n, C, S, S)
    if "cl" in sys.argv[1]: x = x.contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(C, C, K)
    lc = LocallyConnected2d(C, C, K, S)
    dt = torch.bfloat16 if prec == "bf16" else torch.float32
    taps = lc.weight.detach().to(dt).permute(0, 4, 5, 1, 3, 2).contiguous()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
        d = (lc(x).float() - old_inference(x, taps, lc.bias).float()).abs().max().item()
        fns = {"conv": lambda: conv(x), "lc_new": lambda: lc(x), "lc_old": lambda: old_inference(x, taps, lc.bias)}
        ts = {k: [] for k in fns}
        for f in fns.values(): f(); f()
        for r in range(9):
            for k, f in fns.items():
                t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
        base = st.median(ts["conv"])
        print(prec, n, "maxdiff %.2g" % d, {k: (round(st.median(v) * 1e3, 1), round(st.median(v) / base, 2)) for k, v in ts.items()}, flush=True)

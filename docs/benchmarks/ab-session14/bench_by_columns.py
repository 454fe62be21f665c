import time, sys, torch, torch.nn.functional as F
from torch.utils.cpp_extension import load
ext = load("lc_by_columns", ["lc_by_columns.cpp"], extra_cflags=["-O3", "-march=native", "-fopenmp"], extra_ldflags=["-fopenmp"], verbose=False)
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3] / "src"))
from lrlc.functional import locally_connected2d

def prep(x, weight, bias, k=3):
    n, c, h, w = x.shape
    ho, wo = weight.shape[:2]
    wv = (wo + 7) // 8 * 8 if wo % 16 > 8 or wo % 16 == 0 else (wo // 16) * 16 + 8
    wv = max(wv, wo)
    wl = weight.permute(0, 2, 3, 4, 5, 1)  # (Ho, Co, C, kh, kw, Wo)
    wl = F.pad(wl, (0, wv - wo)).contiguous()
    xp = F.pad(x, (0, wv + k - w + 8)).contiguous()  # extra columns for overread
    bp = F.pad(bias.reshape(-1), (0, 16)).contiguous() if bias is not None else torch.empty(0)
    return xp, wl, bp, wo

torch.manual_seed(0)
dt = torch.float64 if "check" in sys.argv else torch.float32
for N in ([3] if "check" in sys.argv else [128, 512]):
    x = torch.randn(N, 64, 24, 24, dtype=dt)
    weight = torch.randn(22, 22, 64, 64, 3, 3, dtype=dt) * 0.05
    bias = torch.randn(64, 22, 22, dtype=dt)
    if "check" in sys.argv:
        xp, wl, bp, wo = prep(x.float(), weight.float(), bias.float())
        y = ext.lc_forward(xp, wl, bp, wo).double()
        ref = locally_connected2d(x, weight, bias)
        print("max err", (y - ref).abs().max().item(), ref.abs().max().item())
        continue
    conv = torch.randn(64, 64, 3, 3) * 0.05
    with torch.no_grad():
        def t_conv(): F.conv2d(x, conv)
        def t_ref(): locally_connected2d(x, weight, bias)
        def t_ext():
            xp, wl, bp, wo = prep(x, weight, bias)
            ext.lc_forward(xp, wl, bp, wo)
        xp, wl, bp, wo = prep(x, weight, bias)
        def t_ext_only(): ext.lc_forward(xp, wl, bp, wo)
        fs = dict(conv=t_conv, lc_now=t_ref, ext_only=t_ext_only)
        res = {k: [] for k in fs}
        for f in fs.values(): f()
        for r in range(7):
            for k, f in fs.items():
                t = time.perf_counter(); f(); res[k].append(time.perf_counter() - t)
        med = {k: sorted(v)[len(v)//2] * 1e3 for k, v in res.items()}
        print(N, {k: round(v, 1) for k, v in med.items()}, {k: round(v / med["conv"], 2) for k, v in med.items()})

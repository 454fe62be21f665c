import time, sys, torch, torch.nn.functional as F
from torch.utils.cpp_extension import load
ext = load("lc_by_positions", ["lc_by_positions.cpp"], extra_cflags=["-O3", "-march=native"], verbose=False)
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3] / "src"))
from lrlc.functional import locally_connected2d
def prep(x, weight):
    wl = weight.permute(0, 1, 3, 4, 5, 2).contiguous()  # (Ho, Wo, C, kh, kw, Co)
    return x.contiguous(), wl
torch.manual_seed(0)
chk = "check" in sys.argv
dt = torch.float64 if chk else torch.float32
for N in ([7] if chk else [128, 512]):
    x = torch.randn(N, 64, 24, 24, dtype=dt)
    weight = torch.randn(22, 22, 64, 64, 3, 3, dtype=dt) * 0.05
    bias = torch.randn(64, 22, 22, dtype=dt)
    if chk:
        xp, wl = prep(x.float(), weight.float())
        y = ext.lc_forward2(xp, wl, bias.float().contiguous(), 3, 3).double()
        print("max err", (y - locally_connected2d(x, weight, bias)).abs().max().item()); continue
    conv = torch.randn(64, 64, 3, 3) * 0.05
    xp, wl = prep(x, weight)
    with torch.no_grad():
        fs = dict(conv=lambda: F.conv2d(x, conv), lc_now=lambda: locally_connected2d(x, weight, bias),
                  ext2=lambda: ext.lc_forward2(xp, wl, bias, 3, 3))
        res = {k: [] for k in fs}
        for f in fs.values(): f()
        for r in range(7):
            for k, f in fs.items():
                t = time.perf_counter(); f(); res[k].append(time.perf_counter() - t)
        med = {k: sorted(v)[len(v)//2] * 1e3 for k, v in res.items()}
        print(N, {k: round(v, 1) for k, v in med.items()}, {k: round(v / med["conv"], 2) for k, v in med.items()})

"""One convolution and the project's locally connected inference, with and without
`keep_freed_memory` (a process each: `python alloc.py plain`, `python alloc.py keep`)."""
import sys, time, torch, torch.nn.functional as F
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3] / "src"))
from lrlc.functional import locally_connected2d
if sys.argv[1] == "keep":
    from lrlc.experiments.run.memory import keep_freed_memory; print("keep", keep_freed_memory())
torch.manual_seed(0)
for N in (128, 512):
    x = torch.randn(N, 64, 24, 24)
    weight = torch.randn(22, 22, 64, 64, 3, 3) * 0.05
    bias = torch.randn(64, 22, 22)
    conv = torch.randn(64, 64, 3, 3) * 0.05
    with torch.no_grad():
        fs = dict(conv=lambda: F.conv2d(x, conv), lc=lambda: locally_connected2d(x, weight, bias))
        res = {k: [] for k in fs}
        for f in fs.values(): f()
        for r in range(7):
            for k, f in fs.items():
                t = time.perf_counter(); f(); res[k].append(time.perf_counter() - t)
    med = {k: sorted(v)[3] * 1e3 for k, v in res.items()}
    print(sys.argv[1], N, {k: round(v, 1) for k, v in med.items()}, round(med["lc"] / med["conv"], 2))

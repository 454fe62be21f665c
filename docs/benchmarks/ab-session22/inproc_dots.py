import sys, time, statistics as st, torch
import lrlc.functional._basis_rows as br
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LowRankLocallyConnected2d
keep_freed_memory(); torch.set_num_threads(2)
n = int(sys.argv[1]); ks = [int(k) for k in sys.argv[2].split(",")]; rounds = int(sys.argv[3])
fmt = torch.channels_last if (len(sys.argv) < 5 or sys.argv[4] == "cl") else torch.contiguous_format
x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
g = torch.randn(n, 64, 22, 22).to(memory_format=fmt)
conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
mods = {k: LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel").to(memory_format=fmt) for k in ks}
def t(f, reps=3):
    f(); ts = []
    for _ in range(reps):
        s = time.perf_counter(); f(); ts.append(time.perf_counter() - s)
    return min(ts)
res = {}
for r in range(rounds):
    res.setdefault("conv", []).append(t(lambda: conv(x).backward(g)))
    for k, m in mods.items():
        for i, lim in enumerate((0, 10)):
            br.DOTS_MAX_RANK = lim
            res.setdefault((k, i), []).append(t(lambda: m(x).backward(g)))
c = st.median(res["conv"])
print(f"N={n} conv {c*1e3:.1f} ms")
for k in ks:
    pr = [res[(k, 1)][j] / res[(k, 0)][j] for j in range(rounds)]
    print(f"K={k}: tiles {st.median(res[(k,0)])*1e3:.1f} ms x{st.median(res[(k,0)])/c:.3f}  dots {st.median(res[(k,1)])*1e3:.1f} ms x{st.median(res[(k,1)])/c:.3f}  dots/tiles per round median {st.median(pr):.3f} ({', '.join(f'{p:.2f}' for p in pr)})")

import sys, time, statistics as st, torch
import lrlc.functional._basis_dw as bd
from _setup import best_of as t, case
n = int(sys.argv[1]); ks = [int(k) for k in sys.argv[2].split(",")]; rounds = int(sys.argv[3])
fmt = torch.channels_last if (len(sys.argv) < 5 or sys.argv[4] == "cl") else torch.contiguous_format
x, g, conv, mods = case(n, ks, fmt)
res = {}
for r in range(rounds):
    res.setdefault("conv", []).append(t(lambda: conv(x).backward(g)))
    for k, m in mods.items():
        for i, lim in enumerate((0, 10)):
            bd.DOTS_MAX_RANK = {"AVX512": lim, "AVX2": lim}
            res.setdefault((k, i), []).append(t(lambda: m(x).backward(g)))
c = st.median(res["conv"])
print(f"N={n} conv {c*1e3:.1f} ms")
for k in ks:
    pr = [res[(k, 1)][j] / res[(k, 0)][j] for j in range(rounds)]
    print(f"K={k}: tiles {st.median(res[(k,0)])*1e3:.1f} ms x{st.median(res[(k,0)])/c:.3f}  dots {st.median(res[(k,1)])*1e3:.1f} ms x{st.median(res[(k,1)])/c:.3f}  dots/tiles per round median {st.median(pr):.3f} ({', '.join(f'{p:.2f}' for p in pr)})")

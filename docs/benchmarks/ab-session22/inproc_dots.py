import statistics as st
import sys

import torch
from _setup import best_of as t
from _setup import case

import lrlc.functional._basis_dw as bd

n = int(sys.argv[1])
ks = [int(k) for k in sys.argv[2].split(",")]
rounds = int(sys.argv[3])
fmt = torch.channels_last if (len(sys.argv) < 5 or sys.argv[4] == "cl") else torch.contiguous_format
x, g, conv, mods = case(n, ks, fmt)
res = {}
for _r in range(rounds):
    res.setdefault("conv", []).append(t(lambda: conv(x).backward(g)))
    for k, m in mods.items():
        for i, lim in enumerate((0, 10)):
            bd.DOTS_MAX_RANK = {"AVX512": lim, "AVX2": lim}
            res.setdefault((k, i), []).append(t(lambda m=m: m(x).backward(g)))
c = st.median(res["conv"])
print(f"N={n} conv {c * 1e3:.1f} ms")
for k in ks:
    pr = [res[(k, 1)][j] / res[(k, 0)][j] for j in range(rounds)]
    tiles, dots = (st.median(res[(k, i)]) for i in (0, 1))
    print(
        f"K={k}: tiles {tiles * 1e3:.1f} ms x{tiles / c:.3f}  dots {dots * 1e3:.1f} ms "
        f"x{dots / c:.3f}  dots/tiles per round median {st.median(pr):.3f} "
        f"({', '.join(f'{p:.2f}' for p in pr)})"
    )

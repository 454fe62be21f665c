"""In-process A/B of compiled lc_bmm.c variants: python inproc.py N K[,K] rounds src1.c src2.c ...
Each round times conv and each variant's step (min of 3) in turn; prints medians and ratios."""
import sys, subprocess, statistics as st, torch
import lrlc.functional._native as nat
from _setup import best_of as t, case
n = int(sys.argv[1]); ks = [int(k) for k in sys.argv[2].split(",")]; rounds = int(sys.argv[3]); srcs = sys.argv[4:]
status = nat._load()[1]
libs = []
for i, src in enumerate(srcs):
    out = f"/tmp/abvar{i}.so"
    subprocess.run(["cc", "-O3", "-fopenmp", "-shared", "-fPIC", src, "-o", out], check=True)
    libs.append(nat._open(__import__("pathlib").Path(out)))
def use(lib):
    nat._load = lambda: (lib, status)
x, g, conv, mods = case(n, ks)
def step(m):
    return lambda: m(x).backward(g)
res = {}
for r in range(rounds):
    res.setdefault("conv", []).append(t(step(conv)))
    for k, m in mods.items():
        for i, lib in enumerate(libs):
            use(lib)
            res.setdefault((k, i), []).append(t(step(m)))
c = st.median(res["conv"])
print(f"conv {c*1e3:.1f} ms")
for k in ks:
    print(f"K={k}: " + "  ".join(f"v{i} {st.median(res[(k,i)])*1e3:.1f} ms x{st.median(res[(k,i)])/c:.3f}" for i in range(len(libs))))
    # paired ratio per round
    for i in range(1, len(libs)):
        pr = [res[(k, i)][j] / res[(k, 0)][j] for j in range(rounds)]
        print(f"   v{i}/v0 per round median {st.median(pr):.3f}  ({', '.join(f'{p:.2f}' for p in pr)})")

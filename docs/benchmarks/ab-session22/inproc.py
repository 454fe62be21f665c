"""In-process A/B of compiled lc_bmm.c variants: python inproc.py N K[,K] rounds src1.c src2.c ...
Each round times conv and each variant's step (min of 3) in turn; prints medians and ratios."""

import pathlib
import statistics as st
import subprocess
import sys

from _setup import best_of as t
from _setup import case

import lrlc.functional._native as nat

n = int(sys.argv[1])
ks = [int(k) for k in sys.argv[2].split(",")]
rounds = int(sys.argv[3])
srcs = sys.argv[4:]
status = nat._load()[1]
libs = []
for i, src in enumerate(srcs):
    out = f"/tmp/abvar{i}.so"
    # lc_dots.c beside lc_bmm.c from session 22 on (the program calls it)
    dots = pathlib.Path(src).with_name("lc_dots.c")
    extra = [str(dots)] if dots.is_file() else []
    subprocess.run(
        ["cc", "-O3", "-fopenmp", "-shared", "-fPIC", src, *extra, "-o", out], check=True
    )
    lib = nat._open(pathlib.Path(out))
    if lib is None:
        raise SystemExit(f"{src}: the built library does not load")
    libs.append(lib)


def use(lib):
    nat._load = lambda: (lib, status)


x, g, conv, mods = case(n, ks)


def step(m):
    return lambda: m(x).backward(g)


res = {}
for _r in range(rounds):
    res.setdefault("conv", []).append(t(step(conv)))
    for k, m in mods.items():
        for i, lib in enumerate(libs):
            use(lib)
            res.setdefault((k, i), []).append(t(step(m)))
c = st.median(res["conv"])
print(f"conv {c * 1e3:.1f} ms")
for k in ks:
    print(
        f"K={k}: "
        + "  ".join(
            f"v{i} {st.median(res[(k, i)]) * 1e3:.1f} ms x{st.median(res[(k, i)]) / c:.3f}"
            for i in range(len(libs))
        )
    )
    # paired ratio per round
    for i in range(1, len(libs)):
        pr = [res[(k, i)][j] / res[(k, 0)][j] for j in range(rounds)]
        print(
            f"   v{i}/v0 per round median {st.median(pr):.3f}  "
            f"({', '.join(f'{p:.2f}' for p in pr)})"
        )

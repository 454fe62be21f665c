import statistics as st
import sys
import time

import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "ab-session22"))
from _setup import case

import lrlc.functional._native.layout as L

orig = L._operands
n = int(sys.argv[1])
ks = [int(k) for k in sys.argv[2].split(",")]
rounds = int(sys.argv[3])
x, g, conv, mods = case(n, ks, torch.contiguous_format)


def step(m):
    m(x).backward(g)


res = {}
for r in range(rounds):
    for name, m in [("conv", conv)] + [(f"K{k}", mm) for k, mm in mods.items()]:
        for var in ("torch", "native"):
            if name == "conv" and var == "native":
                continue
            L._operands = orig if var == "native" else (lambda d, s: None)
            step(m)
            ts = []
            for _ in range(3):
                t = time.perf_counter()
                step(m)
                ts.append(time.perf_counter() - t)
            res.setdefault((name, var), []).append(min(ts))
c = st.median(res[("conv", "torch")])
for (name, var), v in res.items():
    print(f"{name:5s} {var:6s} {st.median(v) * 1e3:7.1f} ms x{st.median(v) / c:.3f}")
for k in ks:
    rat = [b / a for a, b in zip(res[(f"K{k}", "torch")], res[(f"K{k}", "native")])]
    print(
        f"K{k} native/torch per round: median {st.median(rat):.3f} range {min(rat):.3f}-{max(rat):.3f}"
    )

import statistics as st
import sys
import time

import torch
from _setup import case

n = int(sys.argv[1])
ks = [int(k) for k in sys.argv[2].split(",")]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
x, g, conv, mods = case(n, ks)


def step(m):
    y = m(x)
    y.backward(g)


def fwd(m):
    with torch.no_grad():
        m(x)


res = {}
for _r in range(rounds):
    for name, m in [("conv", conv)] + [(f"K{k}", mm) for k, mm in mods.items()]:
        for kind, f in (("step", step), ("fwd", fwd)):
            f(m)
            ts = []
            for _ in range(3):
                t = time.perf_counter()
                f(m)
                ts.append(time.perf_counter() - t)
            res.setdefault((name, kind), []).append(min(ts))
c = st.median(res[("conv", "step")])
cf = st.median(res[("conv", "fwd")])
for (name, kind), v in res.items():
    base = c if kind == "step" else cf
    print(f"{name:5s} {kind:4s} {st.median(v) * 1e3:7.1f} ms  x{st.median(v) / base:.2f}")

import statistics as st
import sys

import torch
from _setup import best_of as t
from _setup import case

n = int(sys.argv[1])
ks = [int(k) for k in sys.argv[2].split(",")]
x32, g32, conv, mods = case(n, ks)
xb = x32.detach().bfloat16().requires_grad_()
gb = g32.bfloat16()


def bf(m):
    def f():
        with torch.autocast("cpu", torch.bfloat16):
            y = m(xb)
        y.backward(gb if y.dtype == torch.bfloat16 else g32)

    return f


def fp(m):
    return lambda: m(x32).backward(g32)


res = {}
for _r in range(5):
    res.setdefault("conv bf16", []).append(t(bf(conv)))
    res.setdefault("conv fp32", []).append(t(fp(conv)))
    for k, m in mods.items():
        res.setdefault(f"K{k} bf16", []).append(t(bf(m)))
        res.setdefault(f"K{k} fp32", []).append(t(fp(m)))
for k, v in res.items():
    print(f"N={n} {k:10s} {st.median(v) * 1e3:7.1f} ms")

"""In-process A/B of _rows_backward._backward_in_one_call: base file vs main.

argv: N K[,K] rounds base_file"""

import importlib.util
import statistics as st
import sys

from _setup import best_of as t
from _setup import case

import lrlc.functional._rows_backward as rb

n = int(sys.argv[1])
ks = [int(k) for k in sys.argv[2].split(",")]
rounds = int(sys.argv[3])
spec = importlib.util.spec_from_file_location("lrlc.functional._rb_base", sys.argv[4])
base = importlib.util.module_from_spec(spec)
spec.loader.exec_module(base)
variants = [base._backward_in_one_call, rb._backward_in_one_call]
x, g, conv, mods = case(n, ks)
res = {}
for _r in range(rounds):
    res.setdefault("conv", []).append(t(lambda: conv(x).backward(g)))
    for k, m in mods.items():
        for i, v in enumerate(variants):
            rb._backward_in_one_call = v
            res.setdefault((k, i), []).append(t(lambda m=m: m(x).backward(g)))
c = st.median(res["conv"])
print(f"N={n} conv {c * 1e3:.1f} ms")
for k in ks:
    pr = [res[(k, 1)][j] / res[(k, 0)][j] for j in range(rounds)]
    base, new = (st.median(res[(k, i)]) for i in (0, 1))
    print(
        f"K={k}: base {base * 1e3:.1f} ms x{base / c:.3f}  new {new * 1e3:.1f} ms "
        f"x{new / c:.3f}  new/base per round median {st.median(pr):.3f} "
        f"({', '.join(f'{p:.2f}' for p in pr)})"
    )

"""In-process A/B of _rows_backward._backward_in_one_call: base file vs main. argv: N K[,K] rounds base_file"""
import sys, time, importlib.util, statistics as st, torch
import lrlc.functional._rows_backward as rb
from _setup import best_of as t, case
n = int(sys.argv[1]); ks = [int(k) for k in sys.argv[2].split(",")]; rounds = int(sys.argv[3])
spec = importlib.util.spec_from_file_location("lrlc.functional._rb_base", sys.argv[4])
base = importlib.util.module_from_spec(spec); spec.loader.exec_module(base)
variants = [base._backward_in_one_call, rb._backward_in_one_call]
x, g, conv, mods = case(n, ks)
res = {}
for r in range(rounds):
    res.setdefault("conv", []).append(t(lambda: conv(x).backward(g)))
    for k, m in mods.items():
        for i, v in enumerate(variants):
            rb._backward_in_one_call = v
            res.setdefault((k, i), []).append(t(lambda: m(x).backward(g)))
c = st.median(res["conv"])
print(f"N={n} conv {c*1e3:.1f} ms")
for k in ks:
    pr = [res[(k, 1)][j] / res[(k, 0)][j] for j in range(rounds)]
    print(f"K={k}: base {st.median(res[(k,0)])*1e3:.1f} ms x{st.median(res[(k,0)])/c:.3f}  new {st.median(res[(k,1)])*1e3:.1f} ms x{st.median(res[(k,1)])/c:.3f}  new/base per round median {st.median(pr):.3f} ({', '.join(f'{p:.2f}' for p in pr)})")

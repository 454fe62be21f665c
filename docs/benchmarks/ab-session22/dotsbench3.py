import time, torch, sys, statistics as st
from lrlc.functional import use_native
from lrlc.functional._native import row_mm, pack_panels, panel_width, column_multiple
from lrlc.functional._native.dots import row_dots
from _setup import dw_operands
torch.set_num_threads(2)
isa = sys.argv[1]
W, X = 22, 12288
with use_native(True, isa), torch.no_grad():
    pw = panel_width(); m = column_multiple()
    for K in [int(k) for k in sys.argv[2].split(",")]:
        kp = -(-K // m) * m
        dW, F = dw_operands(K, W, X)
        P = [pack_panels(f, pw) for f in F]; D = []
        for f in F:
            d = torch.zeros(X, kp); d[:, :K] = f.t(); D.append(d)
        out = torch.empty(W, kp); o2 = torch.empty(K, W).t()
        def once(fn, n=66):
            t = time.perf_counter()
            for i in range(n): fn(i % 3)
            return time.perf_counter() - t
        a = lambda i: row_mm(dW, D[i], out, by_rows=True)
        b = lambda i: row_dots(dW, P[i], o2)
        once(a); once(b); ra, rb = [], []
        for r in range(11):
            ra.append(once(a)); rb.append(once(b))
        print(f"{isa} K={K}: tiles {st.median(ra)*1e3:.2f} ms  dots {st.median(rb)*1e3:.2f} ms")

import time, torch, sys, statistics as st
from lrlc.functional._native import row_mm, pack_panels, panel_width, column_multiple
from lrlc.functional._native.dots import row_dots
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
K = int(sys.argv[1]); W, X = 22, 12288
pw = panel_width(); m = column_multiple(); kp = -(-K // m) * m
dW = torch.randn(W, X)
F = [torch.randn(K, X) for _ in range(3)]
P = [pack_panels(f, pw) for f in F]
D = []
for f in F:
    d = torch.zeros(X, kp); d[:, :K] = f.t(); D.append(d)
out = torch.empty(W, kp); o2 = torch.empty(K, W).t()
def once(fn, n=66):
    t = time.perf_counter()
    for i in range(n): fn(i % 3)
    return time.perf_counter() - t
a = lambda i: row_mm(dW, D[i], out, by_rows=True)
b = lambda i: row_dots(dW, P[i], o2)
with torch.no_grad():
    once(a); once(b); ra, rb = [], []
    for r in range(15):
        ra.append(once(a)); rb.append(once(b))
    print(f"K={K} threads={torch.get_num_threads()} dense gemm {st.median(ra)*1e3:.2f} ms  dots {st.median(rb)*1e3:.2f} ms")

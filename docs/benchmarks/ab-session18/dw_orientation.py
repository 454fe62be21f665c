"""The product behind the kept dw change (session 18), alone: a kernel row's dw as (K, X) @
(X, W_out), what the library did before, and as (W_out, X) @ (X, K), what it does since.
Float32, 2 threads. Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/dw_orientation.py`."""

import torch
from _ab import median_ms

torch.set_num_threads(2)
for k in (4, 32):
    bases, d_w = torch.randn(k, 12288), torch.randn(22, 12288)  # F^k's kernel row, dW's
    before = median_ms(lambda f=bases, g=d_w: torch.mm(f, g.t()), 51) * 1e3
    after = median_ms(lambda f=bases, g=d_w: torch.mm(g, f.t()), 51) * 1e3
    print(f"K = {k}: (K, X) @ (X, W_out) {before:.0f} us, (W_out, X) @ (X, K) {after:.0f} us")

import statistics as st
import time

import torch

import lrlc.functional._native.layout as L
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional._native.layout import contiguous_nchw
from lrlc.functional._rows import pad_hnwc

keep_freed_memory()
torch.set_num_threads(2)
x = torch.randn(128, 64, 24, 24)
big = torch.randn(64 << 20)
y = torch.randn(128, 64, 24, 24).contiguous(memory_format=torch.channels_last)
orig = L._operands
cases = {
    "pad native": ("", lambda: pad_hnwc(x, (0, 0, 0, 0))),
    "pad torch": (None, lambda: pad_hnwc(x, (0, 0, 0, 0))),
    "out native": ("", lambda: contiguous_nchw(y)),
    "out torch": (None, lambda: y.contiguous()),
    "clone": ("", lambda: x.clone()),
}
res = {k: [] for k in cases}
for r in range(25):
    for k, (env, f) in cases.items():
        L._operands = orig if env is not None else (lambda d, s: None)
        big.mul_(1.0)
        f()
        big.mul_(1.0)
        s = time.perf_counter()
        f()
        res[k].append(time.perf_counter() - s)
for k, v in res.items():
    print(f"{k:10s} {st.median(v) * 1e3:.2f} ms")

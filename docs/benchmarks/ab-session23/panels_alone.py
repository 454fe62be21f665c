import statistics as st
import time

import torch

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional._basis_layouts import forward_panels, tap_panels
from lrlc.functional._native import pack_panels

keep_freed_memory()
torch.set_num_threads(2)
for stored in ("cl", "nchw"):
    w = torch.randn(32 * 64, 64, 3, 3)
    if stored == "cl":
        w = w.contiguous(memory_format=torch.channels_last)
    f = w.view(32, 64, 64, 3, 3)

    def old_fwd():
        flat = f.permute(0, 3, 4, 2, 1).reshape(32, -1)
        return pack_panels(flat.view(32, 3, -1).transpose(0, 1), 64)

    def old_tap():
        flat_t = f.permute(0, 3, 4, 1, 2).reshape(32, -1)
        return pack_panels(flat_t.view(32, 3, 3, -1).permute(1, 2, 0, 3), 64)

    cases = {
        "fwd packed": old_fwd,
        "fwd direct": lambda: forward_panels(f, 64),
        "tap packed": old_tap,
        "tap direct": lambda: tap_panels(f, 64),
    }
    res = {k: [] for k in cases}
    for r in range(21):
        for k, fn in cases.items():
            fn()
            s = time.perf_counter()
            fn()
            res[k].append(time.perf_counter() - s)
    print(stored, "  ".join(f"{k} {st.median(v) * 1e3:.2f} ms" for k, v in res.items()))

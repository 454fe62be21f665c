"""In-process A/B of dilated layers' dL/dx (the row loop): one product per tap accumulated
into d(xp)'s row (`_rows_backward._scatter_by_taps`) against session 22's product into a
buffer and kw strided adds (`_old_scatter.py`). 64 -> 64 channels, 3x3, dilation 2,
padding 2, 24 x 24, N = 128, channels_last."""

import statistics as st
import sys

import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "ab-session22"))
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _old_scatter import old  # noqa: E402
from _setup import best_of

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _rows_backward as rb
from lrlc.layers import LocallyConnected2d, LowRankLocallyConnected2d

keep_freed_memory()
torch.set_num_threads(2)
new = rb._add_input_grad_scattered
fmt = torch.channels_last
x = torch.randn(128, 64, 24, 24).to(memory_format=fmt).requires_grad_()
conv = torch.nn.Conv2d(64, 64, 3, padding=2, dilation=2).to(memory_format=fmt)
g = torch.randn_like(conv(x))
mods = {
    "K4": LowRankLocallyConnected2d(
        64, 64, 3, input_size=(24, 24), rank=4, padding=2, dilation=2, path="kernel"
    ).to(memory_format=fmt),
    "K16": LowRankLocallyConnected2d(
        64, 64, 3, input_size=(24, 24), rank=16, padding=2, dilation=2, path="kernel"
    ).to(memory_format=fmt),
    "LC": LocallyConnected2d(64, 64, 3, input_size=(24, 24), padding=2, dilation=2).to(
        memory_format=fmt
    ),
}
res = {}
for r in range(5):
    res.setdefault("conv", []).append(best_of(lambda: conv(x).backward(g)))
    for k, m in mods.items():
        for name, fn in (("old", old), ("new", new)):
            rb._add_input_grad_scattered = fn
            res.setdefault((k, name), []).append(best_of(lambda m=m: m(x).backward(g)))
c = st.median(res["conv"])
print(f"dilation 2, N = 128: conv {c * 1e3:.1f} ms")
for k in mods:
    o, w = st.median(res[(k, "old")]), st.median(res[(k, "new")])
    pr = [b / a for a, b in zip(res[(k, "old")], res[(k, "new")])]
    print(
        f"{k}: old x{o / c:.3f} new x{w / c:.3f} new/old median {st.median(pr):.3f} ({min(pr):.2f}-{max(pr):.2f})"
    )

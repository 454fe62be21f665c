"""In-process A/B of strided backward passes: python ab_scatter.py N K[,K] rounds [stride]
[program]. Without `program`: the row loop's dL/dx as each kernel row's products accumulated
straight into d(xp)'s row (`_rows_backward._scatter_by_products`) against session 22's
product into a buffer and kw strided adds (the one-call backward switched off for both);
with it: the one-call strided backward against that row loop. 64 -> 64 channels, 3x3,
24 x 24, padding 1, channels_last; ratios to a convolution of the same stride."""

import pathlib
import statistics as st
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "ab-session22"))
from _old_scatter import old  # noqa: E402
from _setup import best_of  # noqa: E402

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _backward_program as bp
from lrlc.functional import _rows_backward as rb
from lrlc.layers import LowRankLocallyConnected2d

new = rb._add_input_grad_scattered
one_call = bp._strided_in_one_call


def no_call(*args):
    return False, None


keep_freed_memory()
torch.set_num_threads(2)
n, ks, rounds = int(sys.argv[1]), [int(k) for k in sys.argv[2].split(",")], int(sys.argv[3])
s = int(sys.argv[4]) if len(sys.argv) > 4 else 2
program = sys.argv[5:] == ["program"]
fmt = torch.channels_last
x = torch.randn(n, 64, 24, 24).to(memory_format=fmt).requires_grad_()
conv = torch.nn.Conv2d(64, 64, 3, stride=s, padding=1).to(memory_format=fmt)
g = torch.randn_like(conv(x))
mods = {
    k: LowRankLocallyConnected2d(
        64, 64, 3, input_size=(24, 24), rank=k, stride=s, padding=1, path="kernel"
    ).to(memory_format=fmt)
    for k in ks
}
res: dict = {}
for _r in range(rounds):
    res.setdefault("conv", []).append(best_of(lambda: conv(x).backward(g)))
    for k, m in mods.items():
        for variant in ("old", "new"):
            if program:
                bp._strided_in_one_call = one_call if variant == "new" else no_call
            else:
                bp._strided_in_one_call = no_call
                rb._add_input_grad_scattered = new if variant == "new" else old
            res.setdefault((k, variant), []).append(best_of(lambda m=m: m(x).backward(g)))
c = st.median(res["conv"])
print(f"stride {s}, N = {n}: conv {c * 1e3:.1f} ms")
for k in ks:
    o, w = st.median(res[(k, "old")]), st.median(res[(k, "new")])
    pr = [b / a for a, b in zip(res[(k, "old")], res[(k, "new")], strict=True)]
    print(
        f"K={k}: old {o * 1e3:.1f} ms x{o / c:.3f}  new {w * 1e3:.1f} ms x{w / c:.3f}  "
        f"new/old median {st.median(pr):.3f} ({min(pr):.2f}-{max(pr):.2f})"
    )

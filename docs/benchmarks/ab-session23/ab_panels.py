"""In-process A/B of the builds' and the placed filters' panels made straight from the bases
(`_basis_layouts.forward_panels`, `tap_panels`) against `pack_panels` of `flat` / `flat_t`
(each made first): python ab_panels.py N K[,K] rounds [cl|nchw]."""

import pathlib
import statistics as st
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "ab-session22"))
from _setup import best_of, case  # noqa: E402

from lrlc.functional import _basis_rows  # noqa: E402

direct = _basis_rows.forward_panels, _basis_rows.tap_panels


def use(old: bool) -> None:
    none = lambda *a: None  # noqa: E731
    _basis_rows.forward_panels, _basis_rows.tap_panels = (none, none) if old else direct


n, ks, rounds = int(sys.argv[1]), [int(k) for k in sys.argv[2].split(",")], int(sys.argv[3])
fmt = torch.contiguous_format if sys.argv[4:] == ["nchw"] else torch.channels_last
x, g, conv, mods = case(n, ks, fmt)
res: dict = {}
for _r in range(rounds):
    res.setdefault("conv", []).append(best_of(lambda: conv(x).backward(g)))
    for k, m in mods.items():
        for old in (True, False):
            use(old)
            res.setdefault((k, old), []).append(best_of(lambda m=m: m(x).backward(g)))
c = st.median(res["conv"])
print(f"conv {c * 1e3:.1f} ms")
for k in ks:
    o, w = st.median(res[(k, True)]), st.median(res[(k, False)])
    pr = [b / a for a, b in zip(res[(k, True)], res[(k, False)], strict=True)]
    print(
        f"K={k}: packed {o * 1e3:.1f} ms x{o / c:.3f}  direct {w * 1e3:.1f} ms x{w / c:.3f}  "
        f"direct/packed per round median {st.median(pr):.3f} ({min(pr):.2f}-{max(pr):.2f})"
    )

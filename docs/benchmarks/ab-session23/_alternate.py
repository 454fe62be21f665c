"""What session 23's in-process A/B scripts share: argv (N K[,K] rounds [cl|nchw]), the case
of session 22's `_setup.py`, and steps alternated between two variants set by `use(old)`."""

import pathlib
import statistics as st
import sys
from collections.abc import Callable

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "ab-session22"))
from _setup import best_of, case  # noqa: E402


def alternate(use: Callable[[bool], None], old: str = "old", new: str = "new") -> None:
    """Each round: a convolution step, then each rank's step with the old and the new
    variant; prints medians, ratios to the convolution and the per-round new / old ratio."""
    n, ks, rounds = int(sys.argv[1]), [int(k) for k in sys.argv[2].split(",")], int(sys.argv[3])
    fmt = torch.contiguous_format if sys.argv[4:] == ["nchw"] else torch.channels_last
    x, g, conv, mods = case(n, ks, fmt)
    res: dict = {}
    for _r in range(rounds):
        res.setdefault("conv", []).append(best_of(lambda: conv(x).backward(g)))
        for k, m in mods.items():
            for is_old in (True, False):
                use(is_old)
                res.setdefault((k, is_old), []).append(best_of(lambda m=m: m(x).backward(g)))
    c = st.median(res["conv"])
    print(f"conv {c * 1e3:.1f} ms")
    for k in ks:
        o, w = st.median(res[(k, True)]), st.median(res[(k, False)])
        pr = [b / a for a, b in zip(res[(k, True)], res[(k, False)], strict=True)]
        print(
            f"K={k}: {old} {o * 1e3:.1f} ms x{o / c:.3f}  {new} {w * 1e3:.1f} ms x{w / c:.3f}  "
            f"{new}/{old} per round median {st.median(pr):.3f} ({min(pr):.2f}-{max(pr):.2f})"
        )

"""The paper's claims, read off one sweep's numbers: which hold here, which reverse.

Each claim is a pair of table rows, "A beats B", compared on test accuracy at the ranks chosen
on validation. The difference of the means has standard error sqrt(SE_A^2 + SE_B^2) (seeds
of different models are independent runs). A claim *holds* when the difference exceeds twice
that SE, is *reversed* when it is below minus twice, and is *within noise* otherwise. With a
few seeds this is a screen for the reader, not a significance test.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ...models import paper_row
from .render import Table
from .stats import Stat

Z = 2.0  # how many SEs of the difference make a verdict


@dataclass(frozen=True)
class Claim:
    """`better` is expected to beat `worse`; `aligned`/`translated` limit where it applies."""

    text: str
    better: str
    worse: str
    on: str = "any"  # "any", "aligned" or "translated"
    paper_claim: bool = True


CLAIMS = (
    Claim("LRLC beats convolution", "lrlc3", "conv"),
    Claim("LRLC beats convolution", "lrlc1", "conv"),
    Claim("LRLC beats convolution", "lrlc2", "conv"),
    Claim("LRLC beats convolution", "lrlcall", "conv"),
    Claim("LRLC beats convolution + spatial bias", "lrlc3", "conv_sb3"),
    Claim("late placement beats early", "lrlc3", "lrlc1"),
    Claim("late placement beats all layers", "lrlc3", "lrlcall"),
    Claim("LRLC beats CoordConv", "lrlc3", "coordconv"),
    Claim("LRLC beats locally connected", "lrlc3", "lc3"),
    Claim("LRLC beats wide convolution", "lrlc3", "wide3"),
    Claim("fixed weights win on aligned data", "lrlc3", "lrlc3_id", on="aligned"),
    Claim("input-dependent weights win on translated data", "lrlc3_id", "lrlc3", on="translated"),
    Claim("non-stationary filters vs LRLC (not a claim of the paper)", "ns3", "lrlc3",
          paper_claim=False),
)  # fmt: skip


def difference(a: Stat, b: Stat) -> Stat:
    """a - b with SE sqrt(SE_a^2 + SE_b^2) (None when either side has one seed)."""
    se = None if a.se is None or b.se is None else math.sqrt(a.se**2 + b.se**2)
    return Stat(a.mean - b.mean, se, min(a.n, b.n))


def verdict(diff: float, se: float | None, paper_claim: bool = True) -> str:
    """'holds', 'reversed' or 'within noise' at Z SEs; 'one seed' without an SE."""
    if se is None:
        return "one seed"
    if not paper_claim:
        if abs(diff) <= Z * se:
            return "within noise"
        return "first ahead" if diff > 0 else "second ahead"
    if diff > Z * se:
        return "holds"
    if diff < -Z * se:
        return "reversed"
    return "within noise"


def claims_table(
    test: Mapping[str, Stat],
    translated: bool,
    caption: str,
    paper: Mapping[str, Stat] | None = None,
) -> Table | None:
    """The claims that apply to this setting and whose two models were both run.

    Args:
        test: model name -> test accuracy at its validation-chosen rank.
        paper: the paper's test accuracy per upper-case row label, for its own difference.
    """
    rows = []
    for c in CLAIMS:
        if c.on == ("aligned" if translated else "translated"):
            continue
        if c.better not in test or c.worse not in test:
            continue
        diff = difference(test[c.better], test[c.worse])
        row = {"claim": c.text, "better": paper_row(c.better), "worse": paper_row(c.worse)}
        row.update(diff=diff, verdict=verdict(diff.mean, diff.se, c.paper_claim))
        if paper is not None:
            a, b = paper.get(paper_row(c.better).upper()), paper.get(paper_row(c.worse).upper())
            row["paper_diff"] = None if a is None or b is None else difference(a, b)
        rows.append(row)
    if not rows:
        return None
    cols = [("claim", "claim"), ("better", "A"), ("worse", "B")]
    cols += [("diff", "ours: A - B (pts)"), ("verdict", "verdict")]
    cols += [("paper_diff", "paper: A - B")] if paper is not None else []
    text = (
        f"Test accuracy of A minus B at the ranks chosen on validation, ± SE = sqrt(SE_A^2 + "
        f"SE_B^2). 'holds': A - B > {Z:g} SE; 'reversed': A - B < -{Z:g} SE; otherwise 'within "
        f"noise' (with few seeds a screen, not a significance test). {caption}"
    )
    return Table("claims", "The paper's claims at this protocol", text, cols, rows)

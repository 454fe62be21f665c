"""The paper's claims, read off one sweep's numbers: which hold here, which reverse.

Each claim is a pair of table rows, "A beats B", compared on test accuracy at the ranks chosen
on validation. The difference of the means has standard error sqrt(SE_A^2 + SE_B^2) (seeds
of different models are independent runs). A claim *holds* when the difference exceeds twice
that SE, is *reversed* when it is below minus twice, and is *within noise* otherwise. With a
few seeds this is a screen for the reader, not a significance test.

Rows are keyed by model name, or `MODEL@LABEL` for rows of linked sweeps (ablations, the
canvas pair: `lrlc.experiments.report.linked`). A claim whose rows were not run is left out,
and the caption counts those.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .fit import BELOW_BAR, TRAIN_BAR, below_bar
from .linked import CENTRED_CANVAS, FULL_COMBINING, INIT_RANDOM, RANDOM_CANVAS, row_label
from .render import Table
from .stats import Stat

Z = 2.0  # how many SEs of the difference make a verdict


@dataclass(frozen=True)
class Claim:
    """`better` is expected to beat `worse` (or, with expect="tie", to match it).

    `on` limits where it applies ("aligned" or "unaligned" data, or "any"). With `baseline`
    (C, D), the claim is about (A - B) - (C - D): a gap that grows from one setting to another.
    `paper_note` is the paper's evidence where its tables have no number for this data.
    """

    text: str
    better: str
    worse: str
    on: str = "any"
    paper_claim: bool = True
    expect: str = "better"
    baseline: tuple[str, str] | None = None
    paper_note: str = ""

    def keys(self) -> tuple[str, ...]:
        return (self.better, self.worse) + (self.baseline or ())


_BEATS_CONV = "LRLC beats convolution"
_BEATS_SB = "LRLC beats convolution + spatial bias"
_CENTRED = (f"lrlc3@{CENTRED_CANVAS}", f"lrlc3_id@{CENTRED_CANVAS}")
_RANDOM = (f"lrlc3_id@{RANDOM_CANVAS}", f"lrlc3@{RANDOM_CANVAS}")
CLAIMS = (
    Claim(_BEATS_CONV, "lrlc3", "conv"),
    Claim(_BEATS_CONV, "lrlc1", "conv"),
    Claim(_BEATS_CONV, "lrlc2", "conv"),
    Claim(_BEATS_CONV, "lrlcall", "conv"),
    Claim(_BEATS_SB, "lrlc3", "conv_sb3"),
    Claim(_BEATS_SB, "lrlc1", "conv_sb1"),
    Claim(_BEATS_SB, "lrlc2", "conv_sb2"),
    Claim(_BEATS_SB, "lrlcall", "conv_sball"),
    Claim("late placement beats early", "lrlc3", "lrlc1"),
    Claim("late placement beats early", "lrlc3", "lrlc2"),
    Claim("late placement beats all layers", "lrlc3", "lrlcall"),
    Claim("LRLC beats CoordConv", "lrlc3", "coordconv"),
    Claim("LRLC beats locally connected", "lrlc3", "lc3"),
    Claim("LRLC beats locally connected", "lrlc3", "lc2"),
    Claim("LRLC beats locally connected", "lrlc3", "lc1"),
    Claim("LRLC beats wide convolution", "lrlc3", "wide3"),
    Claim("fixed weights win on aligned data", "lrlc3", "lrlc3_id", on="aligned"),
    Claim("input-dependent weights win on unaligned data", "lrlc3_id", "lrlc3", on="unaligned"),
    Claim("fixed weights win or tie on the centred canvas", *_CENTRED,
          paper_note="aligned MNIST: -0.06, a tie (Table 3)"),
    Claim("input-dependent weights win on the random canvas", *_RANDOM,
          paper_note="CIFAR-10: +2.21 (Table 3)"),
    Claim("misalignment hurts fixed weights more than input-dependent ones", *_RANDOM,
          baseline=tuple(reversed(_CENTRED)), paper_note="slide 12 (qualitative)"),
    Claim("constant (conv) and random combining init are similar", "lrlc3",
          f"lrlc3@{INIT_RANDOM}", expect="tie", paper_note="similar (Supp. Fig. 1, no numbers)"),
    Claim("factorised beats full combining weights", "lrlc3", f"lrlc3@{FULL_COMBINING}",
          paper_note="factorised better (Supp. Fig. 2, no numbers)"),
    Claim("non-stationary filters vs LRLC (not a claim of the paper)", "ns3", "lrlc3",
          paper_claim=False),
)  # fmt: skip


def difference(a: Stat, b: Stat) -> Stat:
    """a - b with SE sqrt(SE_a^2 + SE_b^2) (None when either side has one seed)."""
    se = None if a.se is None or b.se is None else math.sqrt(a.se**2 + b.se**2)
    return Stat(a.mean - b.mean, se, min(a.n, b.n))


def verdict(diff: float, se: float | None, paper_claim: bool = True, expect: str = "better") -> str:
    """'holds', 'reversed' or 'within noise' at Z SEs; 'one seed' without an SE.

    A claim that the two rows are alike (expect="tie") holds within noise, else says who is
    ahead; so does a comparison that is no claim of the paper.
    """
    if se is None:
        return "one seed"
    if expect == "tie" and abs(diff) <= Z * se:
        return "holds (a tie)"
    if not paper_claim or expect == "tie":
        if abs(diff) <= Z * se:
            return "within noise"
        return "first ahead" if diff > 0 else "second ahead"
    if diff > Z * se:
        return "holds"
    if diff < -Z * se:
        return "reversed"
    return "within noise"


SETTLE_CAP = 100  # beyond this many seeds a row's "seeds to settle" says "> 100"


def seeds_to_settle(diff: Stat, effect: float | None = None) -> str | None:
    """Seeds per row at which a within-noise difference would clear Z SEs, if the seeds'
    spread stayed as it is and the true difference were `effect` (default: the one seen):
    SE shrinks as 1/sqrt(n), so n' > n (Z SE / |effect|)^2.

    A rough guide to what would settle a claim (issue 17), not a power analysis: the observed
    difference is itself noisy. None when the difference already clears Z SEs or has no SE.
    """
    if diff.se is None or abs(diff.mean) > Z * diff.se:
        return None
    effect = diff.mean if effect is None else effect
    needed = math.inf if effect == 0 else diff.n * (Z * diff.se / effect) ** 2
    return f"> {SETTLE_CAP}" if needed >= SETTLE_CAP else str(math.floor(needed) + 1)


def claims_table(
    test: Mapping[str, Stat],
    unaligned: bool,
    caption: str,
    paper: Mapping[str, Stat] | None = None,
    train: Mapping[str, Stat] | None = None,
    notes: Mapping[str, str] | None = None,
) -> Table | None:
    """The claims that apply to this setting and whose rows were all run.

    Args:
        test: row key -> test accuracy at its validation-chosen rank.
        unaligned: whether the images are unaligned (translated, or at random on a canvas).
        paper: the paper's test accuracy per upper-case row label, for its own difference.
        train: row key -> training accuracy, shown beside each claim and flagged below the bar.
        notes: row key -> a remark shown with every claim on that row (e.g. a learned omega_1).
    """
    rows, missing = [], 0
    applies = [c for c in CLAIMS if c.on != ("unaligned" if not unaligned else "aligned")]
    for c in applies:
        if not all(k in test for k in c.keys()):
            missing += 1
            continue
        rows.append(_claim_row(c, test, paper, train or {}, notes or {}))
    if not rows:
        return None
    cols = [("claim", "claim"), ("better", "A"), ("worse", "B")]
    cols += [("diff", "ours: A - B (pts)"), ("verdict", "verdict")]
    cols += [("paper_diff", "paper: A - B")] if paper is not None else []
    cols += [("paper_note", "paper says")] if any(r["paper_note"] for r in rows) else []
    settle = any(r["settle"] for r in rows)
    cols += [("settle", "seeds to settle: ours / paper's diff.")] if settle else []
    cols += [("train", "train % A / B")] if train else []
    cols += [("flags", "flags"), ("note", "note")]
    text = (
        f"Test accuracy of A minus B at the ranks chosen on validation, ± SE = sqrt(SE_A^2 + "
        f"SE_B^2). 'holds': A - B > {Z:g} SE; 'reversed': A - B < -{Z:g} SE; otherwise 'within "
        f"noise' (with few seeds a screen, not a significance test). A claim that two rows are "
        f"alike holds within noise. 'Seeds to settle': for a difference within noise, the "
        f"seeds per row at which it would clear {Z:g} SE if the seeds' spread stayed as it is "
        f"and the true difference were ours, or the paper's (SE ~ 1/sqrt(n); a rough guide). "
        f"Flags: a row below the {TRAIN_BAR:g}% training bar. "
        f"{missing} of the {len(applies)} claims that apply to these data are left out: their "
        f"rows were not run (yet). {caption}"
    )
    return Table("claims", "The paper's claims at this protocol", text, cols, rows)


def _claim_row(
    c: Claim,
    test: Mapping[str, Stat],
    paper: Mapping[str, Stat] | None,
    train: Mapping[str, Stat],
    notes: Mapping[str, str],
) -> dict:
    diff = difference(test[c.better], test[c.worse])
    if c.baseline is not None:
        diff = difference(diff, difference(test[c.baseline[0]], test[c.baseline[1]]))
    row = {"claim": c.text, "better": row_label(c.better), "worse": row_label(c.worse)}
    row.update(diff=diff, verdict=verdict(diff.mean, diff.se, c.paper_claim, c.expect))
    row["paper_diff"] = None
    if paper is not None and c.baseline is None:
        a, b = paper.get(row_label(c.better).upper()), paper.get(row_label(c.worse).upper())
        row["paper_diff"] = None if a is None or b is None else difference(a, b)
    # A claim of likeness that holds within noise has nothing left to settle.
    ours = None if c.expect == "tie" else seeds_to_settle(diff)
    if ours is not None:
        at_paper = row["paper_diff"] and seeds_to_settle(diff, row["paper_diff"].mean)
        ours += f" / {at_paper or '—'}"
    row["settle"] = ours
    row["paper_note"] = c.paper_note
    keys = c.keys()
    if train:
        row["train"] = " / ".join(f"{train[k].mean:.2f}" if k in train else "—" for k in keys)
    names = "ABCD"
    row["flags"] = "; ".join(
        f"{names[i]} {BELOW_BAR}" for i, k in enumerate(keys) if below_bar(train.get(k))
    )
    remarks = [f"{row_label(k)}: {notes[k]}" for k in dict.fromkeys(keys) if k in notes]
    if c.baseline is not None:
        remarks.insert(0, f"(A - B) - (C - D), C = {row_label(c.baseline[0])}, D = "
                       f"{row_label(c.baseline[1])}")  # fmt: skip
    row["note"] = "; ".join(remarks)
    return row

"""The claims table: difference arithmetic, verdict thresholds, which claims apply where."""

import csv
import io
import math

import pytest

from lrlc.experiments.report import Stat, write_report
from lrlc.experiments.report.claims import claims_table, difference, seeds_to_settle, verdict

from .helpers import fake_run


def test_difference_of_means_and_its_standard_error_by_hand():
    d = difference(Stat(90.0, 0.3, 3), Stat(88.0, 0.4, 5))
    assert d.mean == pytest.approx(2.0) and d.se == pytest.approx(0.5) and d.n == 3
    assert difference(Stat(90.0, None, 1), Stat(88.0, 0.4, 3)).se is None


@pytest.mark.parametrize(
    "diff,se,expected",
    [(1.01, 0.5, "holds"), (1.0, 0.5, "within noise"), (-0.99, 0.5, "within noise"),
     (-1.01, 0.5, "reversed"), (3.0, None, "one seed")],
)  # fmt: skip
def test_verdict_is_two_standard_errors_of_the_difference(diff, se, expected):
    assert verdict(diff, se) == expected


def test_a_comparison_that_is_not_a_claim_names_who_is_ahead():
    assert verdict(2.0, 0.5, paper_claim=False) == "first ahead"
    assert verdict(-2.0, 0.5, paper_claim=False) == "second ahead"
    assert verdict(0.5, 0.5, paper_claim=False) == "within noise"


def _rows(table):
    return {(r["better"], r["worse"]): r for r in table.rows}


def test_claims_apply_by_setting_and_skip_models_not_run():
    test = {
        "conv": Stat(90.0, 0.3, 3),
        "lrlc3": Stat(95.0, 0.4, 3),
        "lrlc3_id": Stat(96.0, 0.0, 3),
    }
    aligned = _rows(claims_table(test, unaligned=False, caption=""))
    translated = _rows(claims_table(test, unaligned=True, caption=""))
    fixed = ("LRLC (3RD LAYER)", "LRLC (3RD LAYER & INPUT DEPENDENT WEIGHTS)")
    dependent = tuple(reversed(fixed))
    assert fixed in aligned and dependent not in aligned
    assert dependent in translated and fixed not in translated
    # lrlc3 - lrlc3_id = -1.0 +- 0.4: the aligned claim is reversed, the translated one holds.
    assert aligned[fixed]["verdict"] == "reversed" and translated[dependent]["verdict"] == "holds"
    beats_conv = aligned[("LRLC (3RD LAYER)", "CONVOLUTION")]
    assert beats_conv["diff"].mean == pytest.approx(5.0) and beats_conv["verdict"] == "holds"
    assert len(aligned) == 2  # coordconv, lc3, wide3, lrlc1, ... were not run
    assert claims_table({"conv": Stat(90.0, 0.3, 3)}, False, "") is None


def test_paper_difference_uses_the_papers_own_numbers():
    test = {"conv": Stat(90.0, 0.3, 3), "lrlc3": Stat(95.0, 0.4, 3)}
    paper = {"CONVOLUTION": Stat(98.84, 0.01, 10), "LRLC (3RD LAYER)": Stat(99.51, 0.01, 10)}
    (row,) = claims_table(test, False, "", paper=paper).rows
    assert row["paper_diff"].mean == pytest.approx(0.67)
    assert row["paper_diff"].se == pytest.approx(math.sqrt(2) * 0.01)


def test_report_writes_the_claims_table(tmp_path):
    for seed, (c, lr) in enumerate([(90, 95), (91, 96), (89, 95.5)]):
        fake_run(tmp_path, "conv", 1, seed, val=c, test=c)
        fake_run(tmp_path, "lrlc3", 2, seed, val=lr, test=lr)
    out = tmp_path / "report"
    written = write_report(tmp_path, out, figures=False)
    assert out / "claims.csv" in written
    (row,) = list(csv.DictReader(io.StringIO((out / "claims.csv").read_text())))
    assert float(row["diff_mean"]) == pytest.approx(5.5)
    assert row["verdict"] == "holds" and float(row["paper_diff_mean"]) == pytest.approx(0.67)
    assert "## The paper's claims at this protocol" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    "diff,expected",
    [(Stat(0.5, 0.5, 3), "13"),  # 3 * (2 * 0.5 / 0.5)^2 = 12: 13 seeds clear 2 SE
     (Stat(-0.3, 0.2, 5), "9"),  # 5 * (0.4 / 0.3)^2 = 8.9
     (Stat(0.01, 0.5, 5), "> 100"), (Stat(0.0, 0.5, 5), "> 100"),
     (Stat(1.2, 0.5, 5), None),  # already holds
     (Stat(0.2, None, 1), None)],
)  # fmt: skip
def test_seeds_to_settle_a_difference_within_noise(diff, expected):
    assert seeds_to_settle(diff) == expected
    if expected is not None and expected[0] != ">":
        n = int(expected)
        # At n seeds the SE, shrunk as 1/sqrt(n), is below |d| / 2; at n - 1 it is not.
        for m, clears in ((n, True), (n - 1, False)):
            se = diff.se * math.sqrt(diff.n / m)
            assert (abs(diff.mean) > 2 * se) is clears


def test_claims_table_says_how_many_seeds_would_settle_a_difference_within_noise():
    test = {
        "conv": Stat(90.0, 0.3, 3),
        "lrlc3": Stat(90.4, 0.3, 3),  # beats conv by 0.4 +- 0.42: 3 * (0.85 / 0.4)^2 = 13.5
        "lrlc3@init random": Stat(90.3, 0.3, 3),  # a likeness claim that holds
    }
    table = claims_table(test, unaligned=False, caption="")
    rows = _rows(table)
    within = rows[("LRLC (3RD LAYER)", "CONVOLUTION")]
    assert within["verdict"] == "within noise" and within["settle"] == "14 / —"
    assert rows[("LRLC (3RD LAYER)", "LRLC (3RD LAYER) [init random]")]["settle"] is None
    assert ("settle", "seeds to settle: ours / paper's diff.") in table.columns
    # At the paper's difference, 0.67: 3 * (0.85 / 0.67)^2 = 4.8, so 5 seeds per row.
    paper = {"CONVOLUTION": Stat(98.84, 0.01, 10), "LRLC (3RD LAYER)": Stat(99.51, 0.01, 10)}
    rows = _rows(claims_table(test, unaligned=False, caption="", paper=paper))
    assert rows[("LRLC (3RD LAYER)", "CONVOLUTION")]["settle"] == "14 / 5"


def test_seeds_to_settle_at_another_effect_size():
    assert seeds_to_settle(Stat(0.0, 0.1, 5), effect=0.1) == "21"  # 5 * 2^2 = 20
    assert seeds_to_settle(Stat(0.0, 0.1, 5), effect=-0.1) == "21"  # the size, not the sign
    assert seeds_to_settle(Stat(0.0, 0.1, 5), effect=0.01) == "> 100"

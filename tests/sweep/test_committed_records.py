"""The committed run records under docs/results/ still load, and `lrlc report` on them gives
byte for byte the tables committed beside them (records written by lrlc 0.1, with the old
`bf16` config key, read through today's results model)."""

from pathlib import Path

import pytest

from lrlc.experiments.report import write_report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results" / "cpu"


@pytest.mark.parametrize("sweep", ["mnist", "fashion_mnist_t4"])
def test_the_committed_sweep_reports_the_same_tables(sweep, tmp_path):
    written = write_report(DOCS / "records" / sweep, tmp_path, figures=False)
    assert {p.name for p in written} >= {"report.md", "report.tex", "all_models.csv"}
    for path in written:
        committed = DOCS / "report" / sweep / path.name
        assert path.read_text() == committed.read_text(), path.name

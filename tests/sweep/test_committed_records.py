"""The committed run records under docs/results/ still load, and `lrlc report` on them gives
byte for byte the tables committed beside them (records written by lrlc 0.1, with the old
`bf16` config key and no `canvas`, read through today's results model)."""

from pathlib import Path

import pytest

from lrlc.experiments.report import write_report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"
SWEEPS = [(f"cpu/records/{s}", f"cpu/report/{s}") for s in ("mnist", "mnist_t4")]
SWEEPS += [(f"cpu/records/{s}", f"cpu/report/{s}") for s in ("fashion_mnist", "fashion_mnist_t4")]
SWEEPS += [("mnist_20epochs/records", "mnist_20epochs/report")]


@pytest.mark.parametrize("records, report", SWEEPS, ids=[r for r, _ in SWEEPS])
def test_the_committed_sweep_reports_the_same_tables(records, report, tmp_path):
    written = write_report(DOCS / records, tmp_path, figures=False)
    assert {p.name for p in written} >= {"report.md", "report.tex", "all_models.csv"}
    for path in written:
        committed = DOCS / report / path.name
        assert path.read_text() == committed.read_text(), path.name

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


def test_the_committed_paper_protocol_runs_load_and_fit():
    # docs/results/paper_gpu: the full `paper` preset on a GPU, whose README quotes these.
    from lrlc.experiments.records import read_combining
    from lrlc.experiments.report.results import load_runs

    runs = {run.config.model: run for run in load_runs(DOCS / "paper_gpu")}
    assert set(runs) == {"conv", "coordconv", "lrlc3"}
    for run in runs.values():
        assert run.config.preset == "paper" and run.config.epochs == 150
        assert run.result["reduced_protocol"] is False and run.result["metrics"]["train_acc"] == 100
    tests = {m: round(r.acc("test"), 2) for m, r in runs.items()}
    assert tests == {"conv": 98.81, "coordconv": 99.46, "lrlc3": 99.41}
    (weights,) = read_combining(runs["lrlc3"].folder).values()
    assert weights.shape == (4, 22, 22)  # the 3rd layer: 28 - 3 * 2

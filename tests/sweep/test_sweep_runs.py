"""Real tiny sweeps: resume without retraining, the Ray executor, and the smoke preset."""

import json

import pytest

from lrlc.cli import main
from lrlc.experiments.reproduce import reproduce
from lrlc.experiments.sweep import SWEEP_JSON, executors, run_dir, run_sweep

from .helpers import tiny_grid


class Stop(Exception):
    pass


def test_an_interrupted_sweep_resumes_without_running_anything_twice(
    tmp_path, tiny_loader, monkeypatch
):
    calls = []
    real_train = executors.train

    def counting_train(config, out_dir, **kw):
        calls.append(config.run_id())
        return real_train(config, out_dir, **kw)

    monkeypatch.setattr(executors, "train", counting_train)
    grid = tiny_grid(["conv"], [1], [0, 1])

    def stop_after_first(job, result, seconds, error):
        raise Stop  # like a kill right after the first run finished

    with pytest.raises(Stop):
        run_sweep(grid, tmp_path, loader=tiny_loader, on_run_end=stop_after_first)
    first = run_dir(tmp_path, grid.configs()[0]) / "result.json"
    assert calls == [grid.configs()[0].run_id()] and first.exists()
    mtime = first.stat().st_mtime_ns

    summary = run_sweep(grid, tmp_path, loader=tiny_loader)
    assert summary["runs_trained"] == 1
    assert sorted(calls) == sorted(c.run_id() for c in grid.configs())  # each exactly once
    assert first.stat().st_mtime_ns == mtime
    assert run_sweep(grid, tmp_path, loader=tiny_loader)["runs_trained"] == 0
    assert len(calls) == 2

    record = json.loads((tmp_path / SWEEP_JSON).read_text())
    assert record["grid"]["seeds"] == [0, 1] and record["runs_total"] == 2
    statuses = [s["status"] for s in record["sessions"]]
    assert statuses == ["interrupted", "complete", "complete"]
    assert all(s["started"] and s["finished"] for s in record["sessions"])


def test_ray_executor_runs_two_tiny_runs(tmp_path, tiny_loader):
    import ray

    grid = tiny_grid(["conv"], [1], [0, 1])
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        # 2 CPUs per run: Ray runs them one after the other (the machine has 2 cores).
        executor = executors.RayExecutor(cpus_per_run=2)
        summary = run_sweep(grid, tmp_path, executor=executor, loader=tiny_loader)
        assert ray.is_initialized()  # a Ray started by the caller is left running
    finally:
        ray.shutdown()
    assert summary["runs_trained"] == 2
    for config in grid.configs():
        result = json.loads((run_dir(tmp_path, config) / "result.json").read_text())
        assert result["config"] == config.to_dict()
        assert 0 <= result["metrics"]["test_acc"] <= 100
    assert "ray" in json.loads((tmp_path / SWEEP_JSON).read_text())["sessions"][0]["executor"]


def test_smoke_preset_end_to_end(tmp_path, tiny_loader):
    reports = reproduce("smoke", tmp_path, loader=tiny_loader)
    out = reports / "mnist"
    assert reports == tmp_path / "report"
    assert len(list((tmp_path / "mnist" / "runs").glob("*/result.json"))) == 6
    md = (out / "report.md").read_text()
    assert "| LRLC (3RD LAYER) |" in md and "98.84 ± 0.01" in md and "REDUCED protocol" in md
    assert "\\begin{tabular}" in (out / "report.tex").read_text()
    header = (out / "table1.csv").read_text().splitlines()[0]
    assert "test_mean" in header and "paper_test_mean" in header
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == [
        "combining_lrlc3.png",
        "fig3_accuracy_vs_rank.png",
        "fig4_baselines.png",
        "supp_fig3_accuracy_vs_params.png",
    ]
    for name in pngs:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    # The CLI reports a folder of sweeps, one report per sweep.
    again = tmp_path / "again"
    assert main(["report", str(tmp_path), "--format", "csv", "--out", str(again)]) == 0
    assert (again / "mnist" / "all_models.csv").exists()
    # Checkpoints are not committed with records; the combining maps then come from learned.pt.
    for checkpoint in (tmp_path / "mnist" / "runs").glob("*/checkpoint.pt"):
        checkpoint.unlink()
    bare = tmp_path / "bare"
    assert main(["report", str(tmp_path), "--format", "md", "--out", str(bare)]) == 0
    assert (bare / "mnist" / "combining_lrlc3.png").read_bytes()[:4] == b"\x89PNG"

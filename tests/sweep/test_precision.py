"""A sweep with --precision auto that resumes on a machine of another kind (docs/design.md,
"Precision"): finished runs are kept, a half-done run finishes in the precision it started in,
new runs resolve `auto` on the new machine, and the report refuses to mix them silently."""

import dataclasses
import json

import pytest

from lrlc.experiments import machine
from lrlc.experiments.report import ReportError, check_setting, load_runs, write_report
from lrlc.experiments.run import train
from lrlc.experiments.sweep import run_dir, run_sweep

from .helpers import fake_run, tiny_grid


def _machine(monkeypatch, native_bf16: bool) -> None:
    monkeypatch.setattr(machine, "_mkldnn_bf16", lambda: native_bf16)


def test_a_sweep_resumed_on_another_kind_of_machine(tmp_path, tiny_loader, monkeypatch, capsys):
    grid = tiny_grid(["conv"], [1], [0, 1, 2])
    grid = dataclasses.replace(grid, base=dataclasses.replace(grid.base, epochs=2))
    assert grid.base.precision == "auto"
    configs = grid.configs()

    # Machine A runs bf16 natively: seed 0 finishes, seed 1 stops after its first epoch.
    _machine(monkeypatch, True)
    run_sweep(dataclasses.replace(grid, seeds=[0]), tmp_path, loader=tiny_loader)
    first = json.loads((run_dir(tmp_path, configs[0]) / "result.json").read_text())
    assert first["precision"] == "bf16" and first["native_bf16"] is True

    class Stop(Exception):
        pass

    def stop(epoch, model):
        raise Stop

    with pytest.raises(Stop):
        train(configs[1], run_dir(tmp_path, configs[1]), data=tiny_loader(configs[1]),
              progress=False, on_epoch_end=stop)  # fmt: skip

    # Machine B has no native bf16: the same command goes on where it stopped.
    _machine(monkeypatch, False)
    capsys.readouterr()
    summary = run_sweep(grid, tmp_path, loader=tiny_loader)
    assert summary["runs_trained"] == 2  # seed 0 is not trained again
    assert "started in bf16 and resumes in bf16" in capsys.readouterr().err
    results = [json.loads((run_dir(tmp_path, c) / "result.json").read_text()) for c in configs]
    assert results[0] == first
    assert [r["precision"] for r in results] == ["bf16", "bf16", "fp32"]
    assert "kept from the checkpoint" in results[1]["precision_reason"]
    assert results[2]["native_bf16"] is False

    with pytest.raises(ReportError, match="different precisions.*--allow-mixed-precision"):
        write_report(tmp_path, tmp_path / "report", figures=False)
    write_report(tmp_path, tmp_path / "report", figures=False, allow_mixed_precision=True)
    text = (tmp_path / "report" / "report.md").read_text()
    assert "MIXED precision (bf16: 2 runs, fp32: 1 runs)" in text


def test_an_explicit_precision_is_part_of_the_run_identity():
    grid = tiny_grid(["conv"], [1], [0])
    fp32 = dataclasses.replace(grid.base, precision="fp32")
    bf16 = dataclasses.replace(grid.base, precision="bf16")
    assert len({grid.base.run_id(), fp32.run_id(), bf16.run_id()}) == 3


def test_old_records_read_their_precision_from_the_bf16_flag(tmp_path):
    # Records written before `precision` existed carry config["bf16"] and speed switches.
    folder = fake_run(tmp_path, "conv", 1, 0, val=90.0, test=91.0)
    record = json.loads((folder / "result.json").read_text())
    record["config"].pop("precision")
    record["config"].update(bf16=True, channels_last=False, compile=False)
    (folder / "result.json").write_text(json.dumps(record))
    fake_run(tmp_path, "conv", 1, 1, val=90.0, test=91.0, precision="fp32")
    runs = load_runs(tmp_path)
    assert sorted(r.precision for r in runs) == ["bf16", "fp32"]
    with pytest.raises(ReportError, match="protocols"):  # bf16 vs fp32 asked for: two settings
        check_setting(runs)

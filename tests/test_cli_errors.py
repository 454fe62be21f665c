"""`lrlc convert` and `lrlc report` on bad --out paths and unreadable checkpoints: one line
`lrlc: error: ...` naming the path and what to do, exit code 2, never a traceback, and nothing
already written lost."""

import errno
import os
import tempfile
from pathlib import Path

import pytest
import torch

from lrlc.cli import main
from lrlc.experiments.config import TrainConfig
from lrlc.experiments.files import load_checkpoint, save_checkpoint
from lrlc.models import build_model

from .sweep.helpers import fake_run


def run_folder(folder: Path, model: str = "lrlc3") -> Path:
    """A run folder as `lrlc train` leaves it, with an untrained net (conversion needs only
    the config and the weights of checkpoint.pt)."""
    config = TrainConfig.from_preset("paper", dataset="mnist", model=model, rank=2, width=8)
    net = build_model(model, rank=2, width=8)
    save_checkpoint(
        folder / "checkpoint.pt", {"config": config.to_dict(), "model": net.state_dict()}
    )
    return folder


def fails(capsys, *argv: str) -> str:
    """Run `lrlc argv`, check it fails with one clean line, and return that line."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    assert err.startswith("lrlc: error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def run(tmp_path):
    return run_folder(tmp_path / "run")


# --- convert --out -------------------------------------------------------------------------


def test_convert_out_at_an_existing_folder(run, tmp_path, capsys):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    err = fails(capsys, "convert", str(run), "--out", str(folder))
    assert str(folder) in err and "give a file path" in err
    assert str(folder / "converted.pt") in err
    assert os.listdir(folder) == ["keep.txt"]


def test_convert_out_under_an_existing_file(run, tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep")
    err = fails(capsys, "convert", str(run), "--out", str(blocker / "lc.pt"))
    assert str(blocker) in err and "is a file where a folder is needed" in err
    err = fails(capsys, "convert", str(run), "--out", str(blocker / "sub" / "lc.pt"))
    assert str(blocker) in err and "is a file, not a folder" in err
    assert blocker.read_text() == "keep"


def test_convert_out_in_an_unwritable_place(run, tmp_path, capsys, monkeypatch):
    out = tmp_path / "locked" / "lc.pt"

    def denied(dir=None, prefix=None, suffix=None):
        name = os.path.join(dir, f"{prefix}abc{suffix}")
        raise PermissionError(errno.EACCES, "Permission denied", name)

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    err = fails(capsys, "convert", str(run), "--out", str(out))
    assert str(out) in err and "permission denied" in err and ".tmp" not in err
    assert "fix its permissions" in err


def test_convert_out_at_an_existing_file_replaces_it(run, tmp_path, capsys):
    out = tmp_path / "lc.pt"
    out.write_text("an older file")
    assert main(["convert", str(run), "--out", str(out)]) == 0
    stdout, err = capsys.readouterr()
    assert "replaced the file there" in stdout and err == ""
    state = load_checkpoint(out)
    assert state["layers_converted"] == 1 and "features.6.weight" in state["model"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_convert_out_at_the_runs_own_records_is_refused(run, capsys):
    before = (run / "checkpoint.pt").read_bytes()
    err = fails(capsys, "convert", str(run), "--out", str(run / "checkpoint.pt"))
    assert "the run's own checkpoint.pt" in err and str(run / "converted.pt") in err
    assert (run / "checkpoint.pt").read_bytes() == before
    (run / "result.json").write_text("{}")
    err = fails(capsys, "convert", str(run), "--out", str(run / ".." / "run" / "result.json"))
    assert "the run's own result.json" in err
    assert (run / "result.json").read_text() == "{}"


# --- unreadable checkpoints ------------------------------------------------------------------


def test_convert_a_truncated_checkpoint(run, tmp_path, capsys):
    path = run / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:300])
    err = fails(capsys, "convert", str(run), "--out", str(tmp_path / "lc.pt"))
    assert str(path) in err and "weights_only" not in err
    assert "cannot be read as a weights-only checkpoint" in err and "delete it" in err
    assert not (tmp_path / "lc.pt").exists()


def test_convert_a_checkpoint_that_is_not_lrlcs(run, tmp_path, capsys):
    torch.save({"weights": torch.ones(1)}, run / "checkpoint.pt")
    err = fails(capsys, "convert", str(run), "--out", str(tmp_path / "lc.pt"))
    assert str(run / "checkpoint.pt") in err and "not written by lrlc train" in err


# --- report --out ----------------------------------------------------------------------------


@pytest.fixture
def sweep(tmp_path):
    fake_run(tmp_path / "sweep", "conv", 1, 0, val=90.0, test=89.0)
    fake_run(tmp_path / "sweep", "lrlc3", 2, 0, val=91.0, test=90.0)
    return tmp_path / "sweep"


def test_report_out_at_an_existing_file(sweep, tmp_path, capsys):
    blocker = tmp_path / "report.txt"
    blocker.write_text("keep")
    err = fails(capsys, "report", str(sweep), "--out", str(blocker), "--no-figures")
    assert str(blocker) in err and "is a file where a folder is needed" in err
    err = fails(capsys, "report", str(sweep), "--out", str(blocker / "r"), "--no-figures")
    assert str(blocker) in err and "is a file, not a folder" in err
    assert blocker.read_text() == "keep"


def test_report_out_at_an_existing_folder(sweep, tmp_path, capsys):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    assert main(["report", str(sweep), "--out", str(out), "--no-figures"]) == 0
    assert (out / "report.md").exists() and (out / "notes.txt").read_text() == "keep"
    capsys.readouterr()
    # A folder where the report writes a file.
    (out / "report.md").unlink()
    (out / "report.md").mkdir()
    err = fails(capsys, "report", str(sweep), "--out", str(out), "--no-figures")
    assert str(out / "report.md") in err and "is a folder where a file is to be written" in err


def test_report_out_in_an_unwritable_place(sweep, tmp_path, capsys, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_text", denied)
    err = fails(capsys, "report", str(sweep), "--out", str(tmp_path / "r"), "--no-figures")
    assert str(tmp_path / "r") in err and "permission denied" in err

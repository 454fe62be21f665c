"""One training run: learning on real data, resume, NaN handling, records, bad output dirs."""

import json
from dataclasses import asdict

import pytest
import torch

import lrlc.functional as LFN
from lrlc.experiments.config import TrainConfig
from lrlc.experiments.files import load_checkpoint
from lrlc.experiments.run import NonFiniteLossError, RunError, lr_at, train
from lrlc.functional import native_status


def tiny(**kw):
    base = dict(
        dataset="mnist",
        model="lrlc3",
        rank=2,
        epochs=2,
        batch_size=128,
        lr=0.01,
        warmup_epochs=0,
        train_size=2000,
        eval_batch_size=1000,
    )
    base.update(kw)
    return TrainConfig.from_preset("paper", **base)


def test_schedule_warms_up_linearly_then_decays_to_zero():
    assert lr_at(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert lr_at(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert lr_at(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert lr_at(55, 100, 10, 1.0) == pytest.approx(0.5)
    assert lr_at(99, 100, 10, 1.0) < 0.01
    assert lr_at(0, 10, 0, 0.5) == pytest.approx(0.5)


def test_result_json_records_everything(mnist_few, tmp_path):
    config = tiny(epochs=1)
    result = train(config, tmp_path, data=mnist_few, progress=False)
    on_disk = json.loads((tmp_path / "result.json").read_text())
    assert on_disk == json.loads(json.dumps(result))
    for key in ("config", "seed", "git_commit", "data_fingerprint", "params", "metrics"):
        assert key in on_disk
    assert on_disk["config"]["model"] == "lrlc3" and on_disk["reduced_protocol"] is True
    assert on_disk["learned_omega_1"] == {}  # no non-stationary layer
    assert "epochs=2" not in on_disk["protocol"] and "train_size=2000" in on_disk["protocol"]
    m = on_disk["metrics"]
    for key in ("train_acc", "val_acc", "test_acc", "epochs_done", "wall_time_s"):
        assert key in m
    assert 0 <= m["test_acc"] <= 100 and m["epochs_done"] == 1
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and {"train_loss", "val_acc"} <= set(json.loads(lines[0]))
    # A finished run is not trained again.
    assert train(config, tmp_path, data=mnist_few, progress=False) == on_disk


def test_resume_gives_the_weights_of_an_uninterrupted_run(mnist_few, tmp_path):
    config = tiny(epochs=2, model="lrlc3")
    straight = {}
    train(
        config,
        tmp_path / "a",
        data=mnist_few,
        progress=False,
        on_epoch_end=lambda e, m: straight.update(
            {k: v.clone() for k, v in m.state_dict().items()}
        ),
    )

    class Kill(Exception):
        pass

    def kill_after_first(epoch, model):
        if epoch == 1:
            raise Kill

    with pytest.raises(Kill):
        train(config, tmp_path / "b", data=mnist_few, progress=False, on_epoch_end=kill_after_first)
    assert not (tmp_path / "b" / "result.json").exists()
    resumed = {}
    train(
        config,
        tmp_path / "b",
        data=mnist_few,
        progress=False,
        on_epoch_end=lambda e, m: resumed.update({k: v.clone() for k, v in m.state_dict().items()}),
    )
    assert resumed.keys() == straight.keys()
    for k in straight:
        assert torch.equal(straight[k], resumed[k]), k
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]


def test_a_resumed_run_takes_the_lrlc_paths_it_timed_before(mnist_few, tmp_path):
    # LRLC rank 2 at batch 128 is a close call on every CPU's cost constants (Algorithm 1 at
    # 2 convolutions, the kernel path at 1.9-3.2): each batch shape is timed once and kept.
    class Kill(Exception):
        pass

    def kill_after_first(epoch, model):
        if epoch == 1:
            raise Kill

    config = tiny(epochs=2, model="lrlc3")
    LFN.clear_measured_paths()
    previous = LFN.set_path_timing(True)
    try:
        with pytest.raises(Kill):
            train(config, tmp_path, data=mnist_few, progress=False, on_epoch_end=kill_after_first)
        before = LFN.measured_paths()
        assert any(" train " in k for k in before) and any(" infer " in k for k in before)
        saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["lrlc_path_timings"]
        assert saved == {key: asdict(t) for key, t in before.items()}
        LFN.clear_measured_paths()  # a new process: only the checkpoint remembers
        result = train(config, tmp_path, data=mnist_few, progress=False)
        after = LFN.measured_paths()
        assert all(after[key] == t for key, t in before.items())  # taken up, not timed again
        assert result["lrlc_path_timings"] == {key: asdict(t) for key, t in after.items()}
    finally:
        LFN.set_path_timing(previous)
        LFN.clear_measured_paths()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(mnist_few, tmp_path):
    def poison(epoch, model):
        with torch.no_grad():
            model.head.weight.fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match=r"loss became nan at epoch 2.*last good"):
        train(tiny(epochs=3), tmp_path, data=mnist_few, progress=False, on_epoch_end=poison)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_changed_config_in_the_same_folder_is_refused(mnist_few, tmp_path):
    def stop(epoch, model):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny(epochs=2), tmp_path, data=mnist_few, progress=False, on_epoch_end=stop)
    with pytest.raises(RunError, match="different configuration"):
        train(tiny(epochs=2, rank=3), tmp_path, data=mnist_few, progress=False)


def test_unwritable_output_folder(tmp_path, mnist_small):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RunError, match="cannot write to the output folder"):
        train(tiny(), blocker / "run", data=mnist_small)


def test_invalid_config_names_the_problem():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 2, got 0"):
        tiny(batch_size=0)
    # A batch of 1 leaves no step BatchNorm can train on (it once ended in UnboundLocalError).
    with pytest.raises(ValueError, match="batch_size must be an integer >= 2, got 1"):
        tiny(batch_size=1)
    for lr in (float("inf"), float("nan"), 0.0, -1.0):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            tiny(lr=lr)
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        tiny(precision="fp16")
    with pytest.raises(ValueError, match="warmup_epochs must be in"):
        TrainConfig.from_preset("paper", epochs=5, warmup_epochs=6)


def quick(**kw):
    return tiny(**{"epochs": 1, "width": 8, "rank": 1, "model": "conv", **kw})


def test_a_torn_result_json_is_named_and_the_run_retrained(mnist_small, tmp_path, capsys):
    config = quick()
    first = train(config, tmp_path, data=mnist_small, progress=False)
    (tmp_path / "result.json").write_text('{"config": {"model": "co')  # torn mid-write
    again = train(config, tmp_path, data=mnist_small, progress=False)
    assert str(tmp_path / "result.json") in capsys.readouterr().err
    assert again["metrics"]["test_acc"] == first["metrics"]["test_acc"]
    assert json.loads((tmp_path / "result.json").read_text())["config"] == config.to_dict()


def test_a_state_with_inf_batchnorm_statistics_is_never_kept_as_good(mnist_small, tmp_path):
    # A finite loss can leave inf running statistics behind; resuming from them gives NaN.
    def poison_statistics(epoch, model):
        with torch.no_grad():
            model.features[1].running_var.fill_(float("inf"))

    with pytest.raises(NonFiniteLossError, match=r"features\.1\.running_var"):
        train(quick(epochs=3), tmp_path, data=mnist_small, progress=False,
              on_epoch_end=poison_statistics)  # fmt: skip
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_a_failed_data_load_leaves_no_empty_run_folder(tmp_path):
    out = tmp_path / "runs" / "a"
    with pytest.raises(FileNotFoundError):
        train(quick(dataset="cifar10"), out, data_dir=tmp_path / "nothing-here")
    assert not out.exists()
    out.mkdir(parents=True)  # a folder the user made stays
    with pytest.raises(FileNotFoundError):
        train(quick(dataset="cifar10"), out, data_dir=tmp_path / "nothing-here")
    assert out.is_dir()


def test_resume_is_announced_and_a_mismatch_names_the_key(mnist_small, tmp_path, capsys):
    def stop(epoch, model):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(quick(epochs=2), tmp_path, data=mnist_small, progress=False, on_epoch_end=stop)
    with pytest.raises(RunError) as err:
        train(quick(epochs=2, lr=0.02), tmp_path, data=mnist_small, progress=False)
    assert "lr: 0.01 there, 0.02 now" in str(err.value)
    assert "'dataset'" not in str(err.value)  # only the key that differs, not two dicts
    capsys.readouterr()
    train(quick(epochs=2), tmp_path, data=mnist_small, progress=False)
    assert "resuming from" in capsys.readouterr().out


def test_every_run_says_how_it_executes_and_records_it(mnist_small, tmp_path, capsys):
    result = train(quick(), tmp_path, data=mnist_small, progress=False)
    line = capsys.readouterr().out.splitlines()[0]
    assert "precision" in line and "threads" in line and "device cpu" in line
    assert result["precision"] in ("fp32", "bf16") and result["precision_reason"]
    assert result["threads"] == torch.get_num_threads()
    assert {"native_bf16", "processor", "channels_last", "compile"} <= set(result)
    assert result["row_products"] == native_status().reason  # compiled or torch's, and why

"""Converting a trained net's LRLC layers to locally connected ones for inference."""

import pytest
import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.cli import main
from lrlc.experiments import records as records_mod
from lrlc.experiments.config import TrainConfig
from lrlc.experiments.files import load_checkpoint, save_checkpoint
from lrlc.experiments.run import train
from lrlc.experiments.run.convert import (
    NothingToConvertError,
    convert_model,
    convert_model_layers,
    convert_run,
)
from lrlc.models import build_model

from .test_cli import lrlc
from .test_train import tiny


def _randomized(name):
    torch.manual_seed(0)
    model = build_model(name, rank=3, width=8).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model


def test_converted_model_gives_the_same_outputs():
    model = _randomized("lrlcall")
    converted, n = convert_model(model)
    assert n == 3
    assert not any(isinstance(m, LowRankLocallyConnected2d) for m in converted.modules())
    assert sum(isinstance(m, LocallyConnected2d) for m in converted.modules()) == 3
    x = torch.randn(4, 1, 28, 28, dtype=torch.float64)
    torch.testing.assert_close(converted(x), model(x), atol=1e-9, rtol=0)
    # The original is left untouched.
    assert sum(isinstance(m, LowRankLocallyConnected2d) for m in model.modules()) == 3


def test_input_dependent_layers_are_kept():
    converted, n = convert_model(_randomized("lrlc3_id"))
    assert n == 0
    assert any(isinstance(m, LowRankLocallyConnected2d) for m in converted.modules())


def _mixed(*args, **kwargs):
    """lrlcall (with `build_model`'s arguments) with an input-dependent first layer: two fixed
    LRLC layers, one not."""
    model = build_model(*args, **kwargs)
    first = model.features[0]
    model.features[0] = LowRankLocallyConnected2d(
        first.in_channels, first.out_channels, 3, input_size=first.input_size,
        rank=first.rank, bias=False, combining="input_dependent",
    )  # fmt: skip
    return model


def test_convert_model_layers_says_what_it_converted_and_kept():
    torch.manual_seed(0)
    model = _mixed("lrlcall", rank=2, width=8).double().eval()
    converted, done = convert_model_layers(model)
    assert done.converted == ["features.3", "features.6"]
    assert list(done.kept) == ["features.0"] and "input-dependent" in done.kept["features.0"]
    assert done.found() == "3 LRLC layer(s): 2 fixed, 1 input-dependent"
    assert isinstance(converted.features[0], LowRankLocallyConnected2d)
    assert isinstance(converted.features[3], LocallyConnected2d)
    x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    torch.testing.assert_close(converted(x), model(x), atol=1e-9, rtol=0)


def _run_folder(folder, model):
    """A run folder with an untrained net: conversion reads only checkpoint.pt's config and
    weights."""
    config = TrainConfig.from_preset("paper", dataset="mnist", model=model, rank=2, width=8)
    net = build_model(model, rank=2, width=8)
    save_checkpoint(
        folder / "checkpoint.pt", {"config": config.to_dict(), "model": net.state_dict()}
    )
    return folder


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_convert_command_on_an_input_dependent_run_fails_and_says_why(
    mnist_small, tmp_path, capsys
):
    config = tiny(model="lrlc3_id", width=8, epochs=1, batch_size=256)
    train(config, tmp_path / "run", data=mnist_small, progress=False)
    out = tmp_path / "lc.pt"
    with pytest.raises(NothingToConvertError, match="0 fixed, 1 input-dependent"):
        convert_run(tmp_path / "run", out)
    capsys.readouterr()
    code, stdout, err = _cli(capsys, "convert", str(tmp_path / "run"), "--out", str(out))
    assert code == 2 and err.startswith("lrlc: error: nothing to convert") and stdout == ""
    assert "1 LRLC layer(s): 0 fixed, 1 input-dependent" in err
    assert "features.6 (input-dependent" in err and f"{out} was not written" in err
    assert not out.exists()


def test_convert_command_on_a_plain_conv_run_fails(tmp_path, capsys):
    run = _run_folder(tmp_path / "run", "conv")
    code, stdout, err = _cli(capsys, "convert", str(run), "--out", str(tmp_path / "lc.pt"))
    assert code == 2 and "model conv has no LRLC layers" in err
    assert not (tmp_path / "lc.pt").exists()


def test_convert_command_converts_what_it_can_and_names_the_rest(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(records_mod, "build_model", _mixed)
    torch.manual_seed(0)
    run = tmp_path / "run"
    config = TrainConfig.from_preset("paper", dataset="mnist", model="lrlcall", rank=2, width=8)
    save_checkpoint(
        run / "checkpoint.pt",
        {"config": config.to_dict(), "model": _mixed("lrlcall", rank=2, width=8).state_dict()},
    )
    code, stdout, err = _cli(capsys, "convert", str(run), "--out", str(tmp_path / "lc.pt"))
    assert code == 0 and err == ""
    assert "3 LRLC layer(s): 2 fixed, 1 input-dependent" in stdout
    assert "converted 2 LRLC layer(s)" in stdout
    assert "kept features.0 as an LRLC layer: input-dependent" in stdout
    state = load_checkpoint(tmp_path / "lc.pt")
    assert state["converted"] == ["features.3", "features.6"] and list(state["kept"]) == [
        "features.0"
    ]


def test_convert_command_on_a_trained_run(mnist_small, tmp_path):
    config = tiny(width=8, epochs=1, batch_size=256)
    train(config, tmp_path / "run", data=mnist_small, progress=False)
    info = convert_run(tmp_path / "run", tmp_path / "lc.pt")
    assert info["layers_converted"] == 1 and info["max_abs_diff"] < 1e-4
    assert (tmp_path / "lc.pt").exists()
    proc = lrlc("convert", str(tmp_path / "run"), "--out", str(tmp_path / "lc2.pt"))
    assert proc.returncode == 0, proc.stderr
    assert "converted 1 LRLC layer(s)" in proc.stdout
    assert "1 LRLC layer(s): 1 fixed, 0 input-dependent" in proc.stdout
    missing = lrlc("convert", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.pt"))
    assert missing.returncode == 2 and "no checkpoint.pt" in missing.stderr

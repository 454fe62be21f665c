"""Converting a trained net's LRLC layers to locally connected ones for inference."""

import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.convert import convert_model, convert_run
from lrlc.models import build_model
from lrlc.train import train

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


def test_convert_command_on_a_trained_run(mnist_small, tmp_path):
    config = tiny(width=8, epochs=1, batch_size=256)
    train(config, tmp_path / "run", data=mnist_small, progress=False)
    info = convert_run(tmp_path / "run", tmp_path / "lc.pt")
    assert info["layers_converted"] == 1 and info["max_abs_diff"] < 1e-4
    assert (tmp_path / "lc.pt").exists()
    proc = lrlc("convert", str(tmp_path / "run"), "--out", str(tmp_path / "lc2.pt"))
    assert proc.returncode == 0, proc.stderr
    assert "converted 1 LRLC layer(s)" in proc.stdout
    missing = lrlc("convert", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.pt"))
    assert missing.returncode == 2 and "no checkpoint.pt" in missing.stderr

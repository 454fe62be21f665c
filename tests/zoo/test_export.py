"""ONNX and `torch.export` of networks with LRLC layers: both forms (exact locally connected,
K bases) run in onnxruntime with PyTorch's outputs within 1e-4, at the example's batch size and
another; `lrlc export` does it for a harness run. The tap-wise locally connected product that
exported graphs use is checked against the naive loop in float64."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lrlc
import lrlc.functional as LF
from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.experiments.cli import main
from lrlc.export import check_onnx, inference_form
from tests.data.ownfakes import npz_arrays, save
from tests.layers._reference import naive_local

pytest.importorskip("onnxruntime")  # the vision extra, installed by `make test`


@pytest.mark.parametrize(
    "stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, (2, 1), 2), (2, "same", 1)]
)
def test_tap_wise_product_is_the_locally_connected_layer(stride, padding, dilation):
    torch.manual_seed(0)
    lc = LocallyConnected2d(3, 4, (3, 2), input_size=(9, 8), stride=stride, padding=padding,
                            dilation=dilation).double()  # fmt: skip
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    got = LF.locally_connected_by_taps(x, lc.weight, lc.bias, lc.stride, lc.padding, lc.dilation)
    want = naive_local(x, lambda i, j: lc.weight[i, j], lc.bias, lc.output_size, lc.stride,
                       lc.padding, lc.dilation)  # fmt: skip
    assert (got - want).abs().max() < 1e-12


def net_with_every_kind() -> nn.Module:
    """Fixed LRLC (factorised, stride 2; mixed bases), input-dependent LRLC, a plain conv."""
    torch.manual_seed(0)
    net = nn.Sequential(
        LowRankLocallyConnected2d(1, 6, 3, input_size=(12, 12), rank=3, stride=2, padding=1),
        nn.ReLU(),
        LowRankLocallyConnected2d(
            6, 6, [3, 5], input_size=(6, 6), rank=2, padding="same", combining="full"
        ),  # fmt: skip
        nn.ReLU(),
        LowRankLocallyConnected2d(6, 4, 3, input_size=(6, 6), rank=2, combining="input_dependent"),
        nn.Flatten(),
        nn.Linear(64, 5),
    )
    with torch.no_grad():  # off the convolution start, as after training
        for p in net.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return net.eval()


@pytest.mark.parametrize("form", ["lc", "basis"])
def test_onnx_export_of_each_form_matches_pytorch(tmp_path, form):
    net = net_with_every_kind()
    x = torch.randn(2, 1, 12, 12)
    done = lrlc.export_onnx(net, x, tmp_path / "net.onnx", form=form)
    assert set(done.max_abs_error) == {2, 5}  # the example's batch size and another
    assert max(done.max_abs_error.values()) <= 1e-4
    if form == "lc":
        assert done.converted == ["0", "2"] and list(done.kept) == ["4"]
    else:
        assert done.converted == [] and list(done.kept) == ["0", "2", "4"]
    # The check can fail: a network that is not the exported one is caught.
    other = inference_form(net, form)[0]
    with torch.no_grad():
        other[-1].bias.add_(1e-2)
    with pytest.raises(RuntimeError, match="differs from PyTorch"):
        check_onnx(other, (x,), done.path)


def test_export_inference_and_the_program_equal_the_lrlc_net(tmp_path):
    net = net_with_every_kind()
    x = torch.randn(3, 1, 12, 12)
    with torch.no_grad():
        want = net(x)
        assert (lrlc.export_inference(net).model.eval()(x) - want).abs().max() <= 1e-5
        program = lrlc.export_program(net, x[:2])
        torch.export.save(program, tmp_path / "net.pt2")
        loaded = torch.export.load(tmp_path / "net.pt2").module()
        assert (loaded(x) - want).abs().max() <= 1e-5  # batch 3, exported at 2


def test_lrlc_export_writes_a_checked_onnx_file_of_a_run(tmp_path, capsys):
    # 28 x 28 images in an .npz, the paper's net: the export reads the run, not its data, and
    # a few images keep the run's evaluation from costing more than its export.
    data = save(tmp_path, **npz_arrays(n_train=64, n_test=16, shape=(28, 28)))
    run = tmp_path / "run"
    code = main(["train", "--model", "lrlc3", "--rank", "2", "--dataset", data, "--epochs", "1",
                 "--out", str(run)])  # fmt: skip
    assert code == 0
    out = tmp_path / "model.onnx"
    assert main(["export", str(run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.stat().st_size > 0 and "onnxruntime vs PyTorch" in printed
    assert "features.6: locally connected" in printed
    assert main(["export", str(run), "--out", str(tmp_path), "--form", "basis"]) == 2
    assert "is a folder" in capsys.readouterr().err

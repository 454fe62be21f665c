"""`lrlcify` on other people's networks: torchvision's ResNet-18, ResNet-50 and
MobileNetV3 (depthwise convolutions), timm's ResNet and a `tf_*` model (TensorFlow 'SAME'
padding, asymmetric at stride 2). Random init (no weights can be downloaded here), with
BatchNorm statistics gathered on random data first, so that activations have the scale of a
trained network. In float32 the outputs agree to 1e-5 of their scale (a first layer's rounding,
~1e-7, grows with the depth after it); in float64 the conversion is exact to 1e-9."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import lrlc
import lrlc.models
from lrlc import LowRankLocallyConnected2d
from lrlc.data import load_dataset
from lrlc.lrlcify import last_spatial

tvm = pytest.importorskip("torchvision.models")  # the vision extra, installed by `make test`
timm = pytest.importorskip("timm")

ATOL = 1e-5


def calibrated(model: nn.Module, shape=(3, 32, 32), seed: int = 0) -> nn.Module:
    """`model` in eval mode after its BatchNorm layers averaged statistics over random
    batches (the state of a trained network, not of `reset_running_stats`)."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # a cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, *shape))
    return model.eval()


def assert_same(original: nn.Module, converted: nn.Module, shape=(3, 32, 32), batch: int = 3):
    """Equal outputs on a batch of another size than the example's."""
    x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = x.to(next(original.parameters()).dtype)
    with torch.no_grad():
        a, b = original(x), converted(x)
    assert a.abs().max() > 1e-2  # a real output, not one that hides a difference
    tolerance = 1e-9 if x.dtype == torch.float64 else ATOL * max(1.0, a.abs().max())
    assert (a - b).abs().max() <= tolerance, (a - b).abs().max()


def assert_exact_in_float64(net: nn.Module, select, shape=(3, 32, 32)) -> None:
    """The conversion of a float64 copy computes the float64 original to 1e-9."""
    net = copy.deepcopy(net).double()
    example = torch.randn(2, *shape, dtype=torch.float64)
    assert_same(net, lrlc.lrlcify(net, example, select=select, rank=3).model, shape)


def lrlc_layers(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, LowRankLocallyConnected2d)]


@pytest.mark.parametrize(
    "select, expected",
    [
        ("layer4.*", 5),  # both 3x3 convs of each block and the 1x1 shortcut, stride 2 included
        (["conv1", "layer1.0.conv2"], 2),  # the 7x7 stride-2 stem
    ],
)
def test_torchvision_resnet18(select, expected):
    net = calibrated(tvm.resnet18(num_classes=10))
    result = lrlc.lrlcify(net, torch.randn(2, 3, 32, 32), select=select, rank=3)
    assert len(lrlc_layers(result.model)) == expected
    assert_same(net, result.model)  # batch 3, the example's was 2
    if isinstance(select, list):
        assert_exact_in_float64(net, select)


def test_torchvision_resnet50_bottleneck_middles():
    net = calibrated(tvm.resnet50(num_classes=10))
    select = lambda name, conv: name.startswith("layer3.") and conv.kernel_size == (3, 3)  # noqa: E731
    result = lrlc.lrlcify(net, torch.randn(2, 3, 32, 32), select=select, rank=4)
    assert sorted(result.converted) == [f"layer3.{i}.conv2" for i in range(6)]
    assert result.converted["layer3.0.conv2"] == (4, 4)  # its stride 2 takes 4x4 to 2x2
    assert_same(net, result.model)


def test_mobilenet_depthwise_convolutions_are_refused_by_name_or_skipped():
    net = calibrated(tvm.mobilenet_v3_small(num_classes=10))
    with pytest.raises(ValueError, match=r"(?s)features\.9\.block\.1\.0: groups=288.*skip_unsup"):
        lrlc.lrlcify(net, torch.randn(2, 3, 32, 32), select=last_spatial(3), rank=2)
    result = lrlc.lrlcify(
        net, torch.randn(2, 3, 32, 32), select="features.*", rank=2, skip_unsupported=True
    )
    assert "features.0.0" in result.converted  # the dense 3x3 stem
    assert len(result.skipped) == 11 and all("groups=" in why for why in result.skipped.values())
    assert_same(net, result.model)


@pytest.mark.parametrize(
    "name, select",
    [
        ("resnet10t", last_spatial(2)),
        ("tf_efficientnet_lite0", "conv_stem"),  # Conv2dSame: TF 'SAME', stride 2
    ],
)
def test_timm_models(name, select):
    net = calibrated(timm.create_model(name, pretrained=False, num_classes=10))
    result = lrlc.lrlcify(net, torch.randn(2, 3, 32, 32), select=select, rank=3)
    assert result.converted
    if name.startswith("tf_"):
        # A random-init EfficientNet amplifies its stem's float32 rounding to ~1.1e-5 of its
        # logits' scale, and its depthwise convolutions are slow in float64: the converted
        # layer itself is compared, at both precisions.
        x = torch.randn(3, 3, 32, 32)
        with torch.no_grad():
            a, b = net.conv_stem(x), result.model.conv_stem(x)
        assert a.shape == b.shape == (3, 32, 16, 16)
        assert (a - b).abs().max() <= ATOL * a.abs().max()
        stem = copy.deepcopy(net.conv_stem).double()
        assert_exact_in_float64(stem, "", shape=(3, 32, 32))
    else:
        assert_same(net, result.model)
        assert_exact_in_float64(net, select)


def test_a_converted_resnet18_layer_leaves_the_convolution_on_real_data(mnist_dir):
    images, labels = load_dataset("mnist", mnist_dir, train_size=128).train
    net = lrlc.models.resnet(
        "resnet18", num_classes=10, in_channels=1, input_size=28, lrlc_stages=("layer4",),
        rank=3, start="exact", generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    layer = net.layer4[1].conv2
    before = layer.basis_filters().detach().clone()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for step in range(3):
        batch = slice(32 * step, 32 * (step + 1))
        loss = nn.functional.cross_entropy(net(images[batch]), labels[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    moved = layer.basis_filters().detach() - before
    apart = (moved - moved[0]).abs().max().item()  # the bases moved differently
    spread = (layer.combining_weights().detach() - 1 / 3).abs().max().item()
    assert apart > 1e-4 and spread > 1e-4, (apart, spread)

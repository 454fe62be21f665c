"""`GlobalAvgPool2d`: `nn.AdaptiveAvgPool2d(1)`'s outputs and gradients (float64), with the
input gradient in the input's memory format; the paper's nets use it."""

import pytest
import torch
from torch import nn

from lrlc.models.paper_net import PaperNet
from lrlc.models.pooling import GlobalAvgPool2d


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last])
def test_it_is_adaptive_average_pooling_with_the_inputs_layout(fmt):
    x = torch.randn(3, 5, 4, 6, dtype=torch.float64).to(memory_format=fmt).requires_grad_()
    ref = x.detach().clone().requires_grad_()
    g = torch.randn(3, 5, 1, 1, dtype=torch.float64)
    y, y_ref = GlobalAvgPool2d()(x), nn.AdaptiveAvgPool2d(1)(ref)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    y.backward(g)
    y_ref.backward(g)
    torch.testing.assert_close(x.grad, ref.grad, rtol=1e-12, atol=1e-12)
    assert x.grad.is_contiguous(memory_format=fmt)


def test_the_relu_before_it_gets_a_channels_last_gradient():
    """What it is for: in a channels_last net, the gradient reaching the last ReLU is
    channels_last (with `nn.AdaptiveAvgPool2d(1)` it was NCHW)."""
    x = torch.randn(2, 3, 5, 5).to(memory_format=torch.channels_last).requires_grad_()
    seen = {}
    y = torch.relu(x)
    y.register_hook(lambda g: seen.setdefault("g", g))
    GlobalAvgPool2d()(y).sum().backward()
    assert seen["g"].is_contiguous(memory_format=torch.channels_last)


def test_the_paper_nets_pool_with_it_and_count_it_as_pooling():
    net = PaperNet(["conv"] * 3)
    assert isinstance(net.pool, GlobalAvgPool2d) and isinstance(net.pool, nn.AdaptiveAvgPool2d)
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_the_resnets_pool_with_it():
    pytest.importorskip("torchvision")
    from lrlc.models.resnet import resnet

    model = resnet("resnet18", num_classes=3, input_size=32)
    assert isinstance(model.avgpool, GlobalAvgPool2d)
    x = torch.randn(2, 3, 32, 32).to(memory_format=torch.channels_last)
    model = model.to(memory_format=torch.channels_last)
    assert model(x).shape == (2, 3)

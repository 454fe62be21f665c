"""Equivalences the paper states, as tests: K = 1 is conv + spatial bias, the conv init is a
convolution, the trained layer converts exactly to a locally connected layer, and K = H*W
with free weights can be any locally connected layer."""

import pytest
import torch
import torch.nn.functional as F

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d, SpatialBias

from ._reference import naive_local
from .conftest import randomize_


def test_rank_one_is_convolution_plus_spatial_bias():
    layer = randomize_(
        LowRankLocallyConnected2d(3, 4, 3, input_size=(8, 6), rank=1, padding=1).double()
    )
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64)
    conv = F.conv2d(x, layer.basis.weights[0], layer.bias, padding=1)
    sb = SpatialBias((8, 6)).double()
    with torch.no_grad():
        sb.bias_row.copy_(layer.bias_row)
        sb.bias_col.copy_(layer.bias_col)
    torch.testing.assert_close(layer(x), sb(conv), atol=1e-12, rtol=0)


@pytest.mark.parametrize("mode", ["factorized", "full", "row", "column"])
@pytest.mark.parametrize("norm,scale", [("softmax", None), ("norm", 0.5), ("none", 0.5)])
def test_fresh_conv_init_layer_is_a_convolution(mode, norm, scale):
    rank = 4
    layer = LowRankLocallyConnected2d(
        3,
        5,
        3,
        input_size=(7, 9),
        rank=rank,
        stride=2,
        padding="same",
        combining=mode,
        normalize=norm,
        init="conv",
    ).double()
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    filters = layer.basis_filters()
    # softmax of equal logits: 1/K each; norm: 1/sqrt(K); none: the logit c/sqrt(K) summed.
    kernel = filters.mean(0) if norm == "softmax" else filters.sum(0) / rank**0.5
    expected = F.conv2d(F.pad(x, layer.padding), kernel, stride=2)
    torch.testing.assert_close(layer(x), expected, atol=1e-12, rtol=0)


def test_conv_init_logit_values():
    fac = LowRankLocallyConnected2d(1, 1, 3, input_size=5, rank=4)
    assert torch.all(fac.combiner.alpha == 0.25) and torch.all(fac.combiner.beta == 0.25)
    row = LowRankLocallyConnected2d(1, 1, 3, input_size=5, rank=4, combining="row")
    assert torch.all(row.combiner.alpha == 0.5)
    assert torch.all(fac.bias_row == 0) and torch.all(fac.bias == 0)
    rnd = LowRankLocallyConnected2d(1, 1, 3, input_size=5, rank=4, init="random")
    assert rnd.combiner.alpha.std() > 0.1


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=3, input_size=(8, 6), rank=3),
        dict(kernel_size=3, input_size=(9, 7), rank=2, stride=2, padding="same", dilation=2),
        dict(kernel_size=(3, 2), input_size=(8, 9), rank=3, stride=(1, 2), padding=(2, 1)),
        dict(kernel_size=[3, 5, 3], dilation=[1, 1, 2], input_size=(9, 8), padding="same"),
        dict(kernel_size=3, input_size=(6, 6), rank=2, combining="full", normalize="none"),
        dict(kernel_size=3, input_size=(6, 7), rank=2, combining="row", spatial_bias="row"),
        dict(kernel_size=3, input_size=(6, 7), rank=2, combining="column", bias=False),
    ],
)
def test_to_locally_connected_reproduces_outputs(kw):
    layer = randomize_(LowRankLocallyConnected2d(2, 3, **kw).double())
    lc = layer.to_locally_connected()
    assert isinstance(lc, LocallyConnected2d)
    assert lc.weight.shape == (*layer.output_size, 3, 2, *layer.kernel_size)
    x = torch.randn(3, 2, *layer.input_size, dtype=torch.float64)
    torch.testing.assert_close(lc(x), layer(x), atol=1e-9, rtol=0)


def test_input_dependent_layer_refuses_conversion():
    layer = LowRankLocallyConnected2d(2, 3, 3, input_size=8, rank=2, combining="input_dependent")
    with pytest.raises(ValueError, match="input-dependent"):
        layer.to_locally_connected()


@pytest.mark.parametrize("padding,stride,dilation", [(0, 1, 1), ("same", 2, 1), ((1, 2), 1, 2)])
def test_locally_connected_matches_naive_loop(padding, stride, dilation):
    lc = randomize_(
        LocallyConnected2d(
            3, 4, 3, input_size=(8, 7), stride=stride, padding=padding, dilation=dilation
        ).double()
    )
    x = torch.randn(2, 3, 8, 7, dtype=torch.float64)

    def filters_at(i, j):
        return lc.weight[i, j]

    expected = naive_local(
        x, filters_at, lc.bias, lc.output_size, lc.stride, lc.padding, lc.dilation
    )
    torch.testing.assert_close(lc(x), expected, atol=1e-9, rtol=0)


def test_full_rank_lrlc_expresses_any_locally_connected_layer():
    lc = randomize_(LocallyConnected2d(2, 3, 3, input_size=(5, 4)).double())
    h, w = lc.output_size
    layer = LowRankLocallyConnected2d(
        2,
        3,
        3,
        input_size=(5, 4),
        rank=h * w,
        combining="full",
        normalize="none",
        spatial_bias=False,
        bias=False,
    ).double()
    with torch.no_grad():
        # Basis k = the LC filter of position k; one-hot weights pick it at that position.
        layer.basis.weights[0].copy_(lc.weight.reshape(h * w * 3, 2, 3, 3))
        layer.combiner.logits.copy_(torch.eye(h * w, dtype=torch.float64).view(h * w, h, w))
    x = torch.randn(2, 2, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(layer(x) + lc.bias, lc(x), atol=1e-9, rtol=0)


@pytest.mark.parametrize(
    "padding,stride,dilation", [(0, 1, 1), ("same", 2, 1), ((1, 2), (1, 2), 2)]
)
def test_inference_path_equals_the_autograd_path(padding, stride, dilation):
    lc = randomize_(
        LocallyConnected2d(
            3, 4, (3, 2), input_size=(9, 7), stride=stride, padding=padding, dilation=dilation
        ).double()
    )
    x = torch.randn(2, 3, 9, 7, dtype=torch.float64)
    with_grad = lc(x)
    assert with_grad.requires_grad
    with torch.no_grad():
        fast = lc(x)
        torch.testing.assert_close(fast, with_grad.detach(), atol=1e-12, rtol=0)
        # The cached layout follows in-place updates of the weight.
        lc.weight.mul_(2)
        torch.testing.assert_close(lc(x) - lc.bias, 2 * (fast - lc.bias), atol=1e-12, rtol=0)

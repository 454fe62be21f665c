"""The LRLC forward pass equals its definition, a naive float64 loop over positions."""

import itertools

import pytest
import torch

from lrlc import LowRankLocallyConnected2d

from ._reference import naive_l2, naive_lrlc, naive_softmax
from .conftest import randomize_

MODES = ["factorized", "full", "row", "column", "input_dependent"]
NORMS = ["softmax", "norm", "none"]
# (input_size, kernel_size, stride, padding, dilation): square and non-square, strided,
# dilated, "same" with stride 2, asymmetric pairs.
GEOMETRIES = [
    ((7, 7), 3, 1, 0, 1),
    ((9, 6), 3, 2, "same", 2),
    ((8, 11), (3, 2), (2, 1), (1, 2), (1, 2)),
    ((10, 7), 3, 1, "same", 1),
]


def build(mode, norm, geometry, rank=3, **kw):
    size, k, s, p, d = geometry
    layer = LowRankLocallyConnected2d(
        2,
        3,
        k,
        input_size=size,
        rank=rank,
        stride=s,
        padding=p,
        dilation=d,
        combining=mode,
        normalize=norm,
        **kw,
    ).double()
    return randomize_(layer)


@pytest.mark.parametrize("mode,norm", list(itertools.product(MODES, NORMS)))
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
def test_forward_matches_naive_loop(mode, norm, geometry):
    layer = build(mode, norm, geometry)
    x = torch.randn(2, 2, *geometry[0], dtype=torch.float64)
    y = layer(x)
    assert y.shape == (2, 3, *layer.output_size)
    torch.testing.assert_close(y, naive_lrlc(layer, x), atol=1e-9, rtol=0)


@pytest.mark.parametrize(
    "kernel_size,dilation,size,stride",
    [([3, 5], 1, (9, 8), 1), ([3, 3, 1], [1, 2, 1], (8, 9), 1), ([1, 3, 3], [1, 1, 2], (9, 9), 2)],
)
def test_mixed_basis_matches_naive_loop(kernel_size, dilation, size, stride):
    layer = LowRankLocallyConnected2d(
        2, 3, kernel_size, input_size=size, dilation=dilation, stride=stride, padding="same"
    ).double()
    randomize_(layer)
    x = torch.randn(2, 2, *size, dtype=torch.float64)
    torch.testing.assert_close(layer(x), naive_lrlc(layer, x), atol=1e-9, rtol=0)


def test_mixed_basis_embeds_each_filter_centred_with_holes():
    layer = LowRankLocallyConnected2d(1, 1, [3, 3], input_size=8, dilation=[1, 2], padding="same")
    filters = layer.basis_filters().detach()
    assert filters.shape == (2, 1, 1, 5, 5)
    raw_dilated = layer.basis.weights[1].detach().view(3, 3)
    torch.testing.assert_close(filters[1, 0, 0, ::2, ::2], raw_dilated)
    holes = filters[1, 0, 0].clone()
    holes[::2, ::2] = 0
    assert holes.abs().sum() == 0
    assert (
        filters[0, 0, 0, [0, 4]].abs().sum() == 0 and filters[0, 0, 0, :, [0, 4]].abs().sum() == 0
    )


def test_bases_of_interleaved_geometries_keep_their_order():
    layer = LowRankLocallyConnected2d(1, 2, [3, 5, 3], input_size=7, padding="same").double()
    randomize_(layer)
    x = torch.randn(1, 1, 7, 7, dtype=torch.float64)
    # Put all weight on basis 1 (the 5x5): the output must be that single filter's response.
    with torch.no_grad():
        layer.combiner.alpha.copy_(torch.tensor([-1e3, 1e3, -1e3]).view(3, 1))
        layer.combiner.beta.zero_()
    resp = torch.nn.functional.conv2d(x, layer.basis_filters()[1], padding=2)
    torch.testing.assert_close(layer(x) - layer.spatial_bias_map(), resp, atol=1e-9, rtol=0)


def naive_logits(layer):
    """Unnormalised logits from the raw parameters, loop by loop (Eq. 3 and its variants)."""
    k_, (h, w) = layer.rank, layer.output_size
    c = layer.combiner
    out = torch.zeros(k_, h, w, dtype=torch.float64)
    for k in range(k_):
        for i in range(h):
            for j in range(w):
                if layer.combining == "factorized":
                    out[k, i, j] = c.alpha[k, i] + c.beta[k, j]
                elif layer.combining == "row":
                    out[k, i, j] = c.alpha[k, i]
                elif layer.combining == "column":
                    out[k, i, j] = c.beta[k, j]
                else:
                    out[k, i, j] = c.logits[k, i, j]
    return out


@pytest.mark.parametrize("mode,norm", list(itertools.product(MODES[:4], NORMS)))
def test_combining_weights_follow_equations_3_and_4(mode, norm):
    layer = build(mode, norm, GEOMETRIES[1])
    logits = naive_logits(layer)
    expected = {"softmax": naive_softmax(logits, 0), "norm": naive_l2(logits, 0), "none": logits}
    torch.testing.assert_close(layer.combining_weights(), expected[norm], atol=1e-12, rtol=0)


def test_spatial_bias_follows_equation_5():
    layer = build("factorized", "softmax", GEOMETRIES[2])
    b = layer.spatial_bias_map()
    h, w = layer.output_size
    for c in range(3):
        for i in range(h):
            for j in range(w):
                expect = layer.bias_row[i] + layer.bias_col[j] + layer.bias[c]
                assert abs(b[c, i, j] - expect) < 1e-12


@pytest.mark.parametrize("spatial_bias,bias", [(False, True), ("row", False), ("column", True)])
def test_disabled_biases_are_zero_in_the_map(spatial_bias, bias):
    layer = build("factorized", "softmax", GEOMETRIES[0], spatial_bias=spatial_bias, bias=bias)
    b = layer.spatial_bias_map()
    assert (layer.bias_row is not None) == (spatial_bias in (True, "row"))
    assert (layer.bias_col is not None) == (spatial_bias in (True, "column"))
    assert (layer.bias is not None) == bias
    expected = torch.zeros_like(b)
    if layer.bias_row is not None:
        expected += layer.bias_row.view(1, -1, 1)
    if layer.bias_col is not None:
        expected += layer.bias_col.view(1, 1, -1)
    if layer.bias is not None:
        expected += layer.bias.view(-1, 1, 1)
    torch.testing.assert_close(b, expected)
    x = torch.randn(2, 2, 7, 7, dtype=torch.float64)
    torch.testing.assert_close(layer(x), naive_lrlc(layer, x), atol=1e-9, rtol=0)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("mode", ["factorized", "input_dependent"])
def test_rank_one_matches_naive_loop_for_every_normalisation(mode, norm):
    layer = build(mode, norm, GEOMETRIES[1], rank=1)
    x = torch.randn(2, 2, *GEOMETRIES[1][0], dtype=torch.float64)
    torch.testing.assert_close(layer(x), naive_lrlc(layer, x), atol=1e-9, rtol=0)

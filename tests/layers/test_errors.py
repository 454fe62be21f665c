"""Bad input gets one ValueError that names the expected and the received value."""

import pytest
import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d


def lrlc(**kw):
    args = dict(in_channels=3, out_channels=4, kernel_size=3, input_size=(8, 6), rank=2)
    args.update(kw)
    return LowRankLocallyConnected2d(**args)


@pytest.mark.parametrize(
    "layer",
    [lrlc(), lrlc(combining="input_dependent"), LocallyConnected2d(3, 4, 3, input_size=(8, 6))],
)
def test_wrong_spatial_size(layer):
    with pytest.raises(ValueError, match=r"input size \(8, 6\), got \(8, 7\)"):
        layer(torch.randn(1, 3, 8, 7))


@pytest.mark.parametrize("layer", [lrlc(), LocallyConnected2d(3, 4, 3, input_size=(8, 6))])
def test_wrong_channel_count(layer):
    with pytest.raises(ValueError, match=r"built for 3 input channels, got 5"):
        layer(torch.randn(1, 5, 8, 6))


def test_wrong_rank_of_tensor():
    with pytest.raises(ValueError, match=r"4-D input .* got a 3-D"):
        lrlc()(torch.randn(3, 8, 6))


@pytest.mark.parametrize("rank", [0, -1, 1.5])
def test_rank_below_one(rank):
    with pytest.raises(ValueError, match=rf"rank must be an integer >= 1, got {rank}"):
        lrlc(rank=rank)


@pytest.mark.parametrize(
    "kw,pattern",
    [
        (dict(combining="diagonal"), r"combining must be one of .* got 'diagonal'"),
        (dict(normalize="l1"), r"normalize must be one of .* got 'l1'"),
        (dict(init="xavier"), r"init must be one of .* got 'xavier'"),
        (dict(init="xavier", combining="input_dependent"), r"init must be one of"),
        (dict(spatial_bias="diag"), r"spatial_bias must be one of"),
        (dict(padding="full"), r"padding must be an int, a pair, 'same' or 'valid', got 'full'"),
        (dict(kernel_size=[3, 5]), r"needs padding='same', got padding=0"),
        (dict(kernel_size=[3, 5], rank=3, padding="same"), r"2 entries but rank is 3"),
        (
            dict(kernel_size=[3, 5], dilation=[1, 2, 1], padding="same", rank=None),
            r"lengths 2 and 3",
        ),
        (dict(kernel_size=9), r"too small for kernel \(9, 9\)"),
        (dict(in_channels=0), r"in_channels must be a positive integer, got 0"),
    ],
)
def test_bad_construction_arguments(kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        lrlc(**kw)


def test_identical_list_entries_are_not_mixed():
    layer = lrlc(kernel_size=[3, 3], rank=None)
    assert layer.rank == 2 and not layer.basis.mixed

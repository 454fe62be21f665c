"""Bad input gets one ValueError that names the expected and the received value."""

import re

import pytest
import torch

from lrlc import (
    CoordConv2d,
    LocallyConnected2d,
    LowRankLocallyConnected2d,
    NonStationaryConv2d,
    SpatialBias,
)
from lrlc.layers import (
    ColumnLogits,
    FactorizedLogits,
    FullLogits,
    InputDependentLogits,
    RowLogits,
)


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


@pytest.mark.parametrize(
    "layer",
    [
        lrlc(),
        lrlc(combining="input_dependent"),
        LocallyConnected2d(3, 4, 3, input_size=(8, 6)),
        NonStationaryConv2d(3, 4, 3, input_size=(8, 6)),
    ],
    ids=["fixed", "input_dependent", "lc", "nonstationary"],
)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_an_integer_input_is_refused_by_name(layer, dtype):
    x = torch.zeros(1, 3, 8, 6, dtype=dtype)
    with pytest.raises(TypeError, match=rf"floating-point input, got {dtype}; convert it"):
        layer(x)


@pytest.mark.parametrize("fn", ["locally_connected2d", "low_rank_locally_connected2d"])
def test_the_functional_forms_refuse_an_integer_input(fn):
    from lrlc import functional as F

    x = torch.zeros(1, 3, 8, 6, dtype=torch.uint8)
    if fn == "locally_connected2d":
        args = (torch.randn(6, 4, 4, 3, 3, 3),)
    else:
        args = (torch.randn(2, 4, 3, 3, 3), torch.full((2, 6, 4), 0.5))
    with pytest.raises(TypeError, match="floating-point input, got torch.uint8"):
        getattr(F, fn)(x, *args)


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


# Constructor arguments: every public layer refuses a bad size, stride or channel count with
# one ValueError naming the argument, the value and what is allowed, instead of a
# ZeroDivisionError, a negative dimension or a silently different layer later on.

VALID = {
    LowRankLocallyConnected2d: dict(
        in_channels=3, out_channels=4, kernel_size=3, input_size=(8, 6), rank=2
    ),
    LocallyConnected2d: dict(in_channels=3, out_channels=4, kernel_size=3, input_size=(8, 6)),
    NonStationaryConv2d: dict(in_channels=3, out_channels=4, kernel_size=3, input_size=(8, 6)),
    CoordConv2d: dict(in_channels=3, out_channels=4, kernel_size=3),
}
CONV_LAYERS = list(VALID)
SIZED_LAYERS = [LowRankLocallyConnected2d, LocallyConnected2d, NonStationaryConv2d]
DILATED_LAYERS = [LowRankLocallyConnected2d, LocallyConnected2d, CoordConv2d]

CHANNELS = [0, -1, 2.5, True, "3"]
POSITIVE_PAIRS = [0, -1, (0, 3), (3, -2), (3, 3, 3), (3,), 1.5, None, True]


def bad_argument_cases(layers, names, values):
    return [
        pytest.param(layer, name, value, id=f"{layer.__name__}-{name}={value!r}")
        for layer in layers
        for name in names
        for value in values
    ]


def expect_named_error(layer, name, value, allowed):
    args = dict(VALID[layer])
    args[name] = value
    with pytest.raises(ValueError, match=rf"^{name} must be .*got {re.escape(repr(value))}") as e:
        layer(**args)
    assert allowed in str(e.value)


@pytest.mark.parametrize(
    "layer,name,value", bad_argument_cases(CONV_LAYERS, ["in_channels", "out_channels"], CHANNELS)
)
def test_bad_channel_count(layer, name, value):
    expect_named_error(layer, name, value, "a positive integer")


@pytest.mark.parametrize(
    "layer,name,value",
    bad_argument_cases(CONV_LAYERS, ["kernel_size", "stride"], POSITIVE_PAIRS)
    + bad_argument_cases(DILATED_LAYERS, ["dilation"], POSITIVE_PAIRS)
    + bad_argument_cases(SIZED_LAYERS, ["input_size"], POSITIVE_PAIRS),
)
def test_bad_kernel_stride_dilation_or_input_size(layer, name, value):
    expect_named_error(layer, name, value, "an int or a pair of ints, each >= 1")


@pytest.mark.parametrize(
    "layer,value", [(layer, v) for layer in CONV_LAYERS for v in [-1, (1, -1), (-2, 0), 1.5]]
)
def test_bad_explicit_padding(layer, value):
    expect_named_error(layer, "padding", value, "an int or a pair of ints, each >= 0")


def test_coordconv_no_longer_builds_a_conv_of_another_width():
    # CoordConv2d(-1, 4, 3) used to build nn.Conv2d(1, 4, 3): -1 + 2 coordinate channels.
    with pytest.raises(ValueError, match=r"in_channels must be a positive integer, got -1"):
        CoordConv2d(-1, 4, 3)


@pytest.mark.parametrize(
    "layer,kw,smallest",
    [
        (LowRankLocallyConnected2d, dict(dilation=4), (9, 9)),
        (LowRankLocallyConnected2d, dict(kernel_size=(3, 7)), (3, 7)),
        (LowRankLocallyConnected2d, dict(kernel_size=(3, 9), padding=1, stride=2), (1, 7)),
        (LocallyConnected2d, dict(kernel_size=(9, 3)), (9, 3)),
        (LocallyConnected2d, dict(kernel_size=5, dilation=(3, 1), padding=(2, 0)), (9, 5)),
        (NonStationaryConv2d, dict(kernel_size=7), (7, 7)),
        (NonStationaryConv2d, dict(kernel_size=(11, 3), padding=1), (9, 1)),
    ],
)
def test_no_output_position_left(layer, kw, smallest):
    args = {**VALID[layer], **kw}
    pattern = (
        rf"input_size \(8, 6\) is too small for kernel .* no output position remains"
        rf".*input_size must be at least {re.escape(str(smallest))}"
    )
    with pytest.raises(ValueError, match=pattern):
        layer(**args)


def test_the_smallest_input_size_named_in_the_error_is_enough():
    # Guards the hint: the size it names builds, one less in either axis does not.
    kw = dict(kernel_size=(3, 9), padding=1, stride=2)
    assert lrlc(input_size=(1, 7), **kw).output_size == (1, 1)
    for size in [(1, 6), (0, 7)]:
        with pytest.raises(ValueError):
            lrlc(input_size=size, **kw)


@pytest.mark.parametrize(
    "kw,pattern",
    [
        (dict(kernel_size=[3, 0], padding="same"), r"kernel_size\[1\] must be positive, got 0"),
        (
            dict(kernel_size=[3, 3], dilation=[1, (0, 1)], padding="same"),
            r"dilation\[1\] must be positive, got \(0, 1\)",
        ),
        (dict(rank=True), r"rank must be an integer >= 1, got True"),
        (dict(stride=0, padding="same"), r"stride must be positive, got 0"),
    ],
)
def test_bad_per_basis_entries_and_rank(kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        lrlc(**kw)


@pytest.mark.parametrize(
    "build,pattern",
    [
        (lambda: SpatialBias(0), r"size must be positive, got 0"),
        (lambda: SpatialBias((4, -1)), r"size must be positive, got \(4, -1\)"),
        (lambda: SpatialBias(2.0), r"size must be an int or a pair of ints, each >= 1, got 2.0"),
        (lambda: FactorizedLogits(0, (3, 3)), r"rank must be an integer >= 1, got 0"),
        (lambda: FullLogits(2, (0, 3)), r"output_size must be positive, got \(0, 3\)"),
        (lambda: RowLogits(-1, (3, 3)), r"rank must be an integer >= 1, got -1"),
        (lambda: ColumnLogits(2, (3, -3)), r"output_size must be positive, got \(3, -3\)"),
        (
            lambda: InputDependentLogits(0, 2, (8, 8), (6, 6)),
            r"in_channels must be a positive integer, got 0",
        ),
        (
            lambda: InputDependentLogits(3, 0, (8, 8), (6, 6)),
            r"rank must be an integer >= 1, got 0",
        ),
        (
            lambda: InputDependentLogits(3, 2, (0, 8), (6, 6)),
            r"input_size must be positive, got \(0, 8\)",
        ),
        (
            lambda: NonStationaryConv2d(3, 4, "full", (8, 0)),
            r"input_size must be positive, got \(8, 0\)",
        ),
        (
            lambda: NonStationaryConv2d(3, 4, "full", (8, 6), stride=0),
            r"stride must be positive, got 0",
        ),
    ],
)
def test_bad_arguments_of_the_other_modules(build, pattern):
    with pytest.raises(ValueError, match=pattern):
        build()


@pytest.mark.parametrize("layer", CONV_LAYERS)
def test_valid_arguments_build_as_before(layer):
    # Pairs given as tuples or lists keep working, as do the layers' own shapes.
    module = layer(**{**VALID[layer], "kernel_size": (3, 1), "stride": [1, 2]})
    assert module(torch.randn(2, 3, 8, 6)).shape == (2, 4, 6, 3)

"""The paper's networks: names, shapes, placement, widths and parameter matching."""

import csv
from importlib import resources

import pytest
import torch
from torch import nn

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d, SpatialBias
from lrlc.models import build_model, layer_kinds, paper_model_names, paper_row
from lrlc.models.paper_net import wide_width

PAPER_CSV = resources.files("lrlc").joinpath("resources/paper-results.csv")
NAMES = paper_model_names()  # the ResNets have tests/zoo/test_resnet.py


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape,classes", [((1, 28, 28), 10), ((3, 32, 32), 2)])
def test_every_model_runs_and_gives_logits(name, shape, classes):
    model = build_model(name, input_shape=shape, num_classes=classes, rank=2)
    assert model(torch.randn(3, *shape)).shape == (3, classes)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_evaluates_under_bf16_autocast(name):
    # The trainer evaluates under no_grad and autocast, which takes the layers' inference paths.
    torch.manual_seed(0)
    model = build_model(name, input_shape=(1, 16, 16), num_classes=10, rank=2).eval()
    x = torch.randn(4, 1, 16, 16)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x)
    err = (out.float() - ref).abs().max() / ref.abs().max()
    assert err < 5e-2, f"relative error {err:.3g}"


def test_learned_omega_1_by_depth():
    assert build_model("conv").learned_omega_1() == {}
    assert build_model("ns3").learned_omega_1() == {3: 1.0}
    model = build_model("nsall", layer_kwargs={"omega_1": 0.5})
    model.layers()[1].omega_1.data.fill_(2.5)
    assert model.learned_omega_1() == {1: 0.5, 2: 2.5, 3: 0.5}


def test_every_paper_row_has_a_model_name():
    rows = {r["model"] for r in csv.DictReader(PAPER_CSV.read_text().splitlines())}
    ours = {paper_row(n) for n in NAMES}
    assert rows <= ours, rows - ours


@pytest.mark.parametrize(
    "name,kinds",
    [
        ("lrlc3", ["conv", "conv", "lrlc"]),
        ("lrlcall", ["lrlc"] * 3),
        ("lrlc2_id", ["conv", "lrlc_id", "conv"]),
        ("conv_sb1", ["conv_sb", "conv", "conv"]),
        ("coordconv", ["coordconv", "conv", "conv"]),
        ("lc2", ["conv", "lc", "conv"]),
    ],
)
def test_placement(name, kinds):
    assert layer_kinds(name) == kinds


def test_lrlc_layers_sit_where_named_with_the_sizes_of_the_paper():
    model = build_model("lrlcall", rank=3)
    lrlcs = [m for m in model.modules() if isinstance(m, LowRankLocallyConnected2d)]
    assert [m.input_size for m in lrlcs] == [(28, 28), (26, 26), (24, 24)]
    assert [m.output_size for m in lrlcs] == [(26, 26), (24, 24), (22, 22)]
    assert all(m.bias is None and m.bias_row is not None and m.rank == 3 for m in lrlcs)
    model = build_model("lrlc3", rank=2, input_shape=(3, 32, 32))
    (layer,) = [m for m in model.modules() if isinstance(m, LowRankLocallyConnected2d)]
    assert layer.output_size == (26, 26)


def test_bias_conventions_and_batch_norm():
    model = build_model("lc1")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    (lc,) = [m for m in model.modules() if isinstance(m, LocallyConnected2d)]
    assert lc.bias is not None
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 3 and all(b.eps == 1e-5 and b.momentum == 0.1 for b in bns)
    sbs = [m for m in build_model("conv_sball").modules() if isinstance(m, SpatialBias)]
    assert [s.size for s in sbs] == [(26, 26), (24, 24), (22, 22)]


def test_conv_fc_flattens_instead_of_pooling():
    model = build_model("conv_fc")
    assert model.head.in_features == 64 * 22 * 22


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("rank", [2, 4, 8])
def test_wide_convolution_matches_lrlc_parameters(depth, rank):
    wide = n_params(build_model(f"wide{depth}", rank=rank))
    lrlc = n_params(build_model(f"lrlc{depth}", rank=rank))
    conv = n_params(build_model("conv"))
    # Matched up to the small combining weights, biases and BatchNorm of the wider layer
    # (and the integer rounding of the width, which matters on 1-channel input).
    assert abs(wide - lrlc) < 0.02 * lrlc
    if depth > 1:
        assert abs(wide - lrlc) < 0.1 * (lrlc - conv)


def test_wide_width_formula():
    assert wide_width(4, 64, 64, last=False) == int((4 * 64 + 64) / 128 * 64) == 160
    assert wide_width(4, 3, 64, last=False) == int((12 + 64) / 67 * 64)
    assert wide_width(4, 64, 64, last=True) == 256


@pytest.mark.parametrize("bad", ["lrlc4", "convolution", "lc1_id", "lrlcall_id"])
def test_unknown_model_names(bad):
    with pytest.raises(ValueError):
        build_model(bad)


def _filter_banks(model: nn.Module) -> list[torch.Tensor]:
    """Every kernel of every spatial layer, as (..., C_in, kh, kw)."""
    banks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
            banks.append(m.weight.detach())
        elif isinstance(m, LowRankLocallyConnected2d):
            banks.append(m.basis_filters().detach())
        elif isinstance(m, LocallyConnected2d):
            banks.append(m.weight.detach())
    return banks


@pytest.mark.parametrize("name", ["conv", "conv_sb3", "coordconv", "wide2", "lrlc3", "lc1"])
def test_every_layer_kind_starts_he_uniform(name):
    # One kernel initializer for all layer kinds, as the authors: otherwise the baselines
    # differ from LRLC by their init (PyTorch's default conv init is sqrt(6) times narrower).
    torch.manual_seed(0)
    banks = _filter_banks(build_model(name, rank=2))
    assert len(banks) == 3
    for w in banks:
        bound = (6.0 / (w.shape[-3] * 9)) ** 0.5
        assert w.abs().max() <= bound
        assert w.abs().max() > 0.95 * bound, "narrower than He-uniform"
        assert w.std() == pytest.approx(bound / 3**0.5, rel=0.1)


def test_rank_one_lrlc_and_conv_plus_spatial_bias_start_alike():
    # K = 1 is a convolution plus spatial bias: the two models differ only in RNG draws.
    stds = []
    for name in ("lrlc3", "conv_sb3"):
        torch.manual_seed(0)
        stds.append([float(w.std()) for w in _filter_banks(build_model(name, rank=1))])
    assert stds[0] == pytest.approx(stds[1], rel=0.05)


def test_a_layer_option_reaches_only_the_kinds_that_take_it():
    from lrlc.layers import NonStationaryConv2d

    net = build_model("ns3", width=8, layer_kwargs={"omega_1": 0.25})
    ns = [m for m in net.modules() if isinstance(m, NonStationaryConv2d)]
    assert len(ns) == 1 and ns[0].omega_1.item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match=r"--init applies to lrlc layers, and model ns3 has"):
        build_model("ns3", width=8, layer_kwargs={"init": "random"})
    with pytest.raises(ValueError, match=r"--omega-1 applies to ns layers"):
        build_model("lrlc3", width=8, layer_kwargs={"omega_1": 2.0})
    with pytest.raises(ValueError, match=r"--combining applies to lrlc layers"):
        build_model("lrlc3_id", width=8, layer_kwargs={"combining": "full"})

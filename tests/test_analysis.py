"""Parameter and FLOP counts against hand-computed values (the arithmetic is written out)."""

import pytest
import torch
from torch import nn

from lrlc import CoordConv2d, LocallyConnected2d, LowRankLocallyConnected2d, SpatialBias
from lrlc.analysis import (
    count_layer,
    count_model,
    flops_vs_rank,
    format_counts,
    lrlc_macs,
    n_params,
    plot_flops_vs_rank,
)
from lrlc.models import build_model, paper_model_names
from lrlc.models.paper_net import wide_width

CONV = 22 * 22 * 64 * 64 * 9  # MACs of a 64 -> 64 3x3 'valid' conv on 24x24: 17,842,176
OUT = 64 * 22 * 22  # output elements: one MAC each for a bias add or one combining term


def one(module: nn.Module, in_shape=(64, 24, 24), out_shape=(64, 22, 22)):
    return count_layer("x", module, in_shape, out_shape)


def test_conv():
    r = one(nn.Conv2d(64, 64, 3, bias=False))
    assert (r.kind, r.params, r.train_macs, r.infer_macs) == ("conv", 64 * 64 * 9, CONV, CONV)
    assert r.train_flops == 2 * CONV == 35_684_352
    r = one(nn.Conv2d(64, 64, 3))
    assert (r.params, r.train_macs) == (64 * 64 * 9 + 64, CONV + OUT)


def test_depthwise_dilated_conv():
    r = count_layer("x", nn.Conv2d(4, 4, 3, dilation=2, groups=4), (4, 24, 24), (4, 20, 20))
    assert r.train_macs == 20 * 20 * 4 * 1 * 9 + 4 * 20 * 20
    assert r.params == 4 * 9 + 4


@pytest.mark.parametrize("rank", [1, 2, 4])
def test_lrlc_fixed(rank):
    layer = LowRankLocallyConnected2d(64, 64, 3, input_size=24, rank=rank, bias=False)
    r = one(layer)
    assert r.kind == "lrlc"
    # basis K*64*64*9, alpha and beta K*(22+22), row and column bias 22 + 22
    assert r.params == rank * 64 * 64 * 9 + rank * (22 + 22) + 22 + 22 == n_params(layer)
    # Algorithm 1: K*64-channel conv, K MACs per output element to combine, one bias add
    assert r.train_macs == rank * CONV + rank * OUT + OUT
    # converted to LC: the conv's MACs plus the bias add; one 64x64x3x3 bank per position
    assert r.infer_macs == CONV + OUT
    assert r.infer_params == 22 * 22 * 64 * 64 * 9 + 64 * 22 * 22
    assert r.infer_params == n_params(layer.to_locally_connected())
    parts = lrlc_macs(layer)
    assert parts["basis"] == rank * CONV and parts["g"] == 0
    assert parts["train"] == parts["basis"] + parts["combine"] + parts["bias"]


def test_lrlc_without_any_bias_has_no_bias_adds():
    layer = LowRankLocallyConnected2d(64, 64, 3, 24, rank=2, spatial_bias=False, bias=False)
    assert one(layer).train_macs == 2 * CONV + 2 * OUT


def test_lrlc_input_dependent():
    k = 2
    layer = LowRankLocallyConnected2d(64, 64, 3, 24, rank=k, combining="input_dependent")
    resize = 4 * k * 22 * 22  # bilinear: 4 MACs per output element
    g = 24 * 24 * k * 64 + k * 24 * 24  # 1x1 reduce to K channels, with bias
    g += k * 24 * 24  # global mean
    g += resize  # x_lowd 24x24 -> 22x22
    # depthwise 3x3 branches, dilations 1, 2, 4, 8 (all <= (24 - 1) // 2): 22, 20, 16, 8 out
    for h in (22, 20, 16, 8):
        g += h * h * k * 9 + k * h * h + (0 if h == 22 else resize)
    ch = (4 + 2) * k  # branches + x_lowd + mean
    g += 22 * 22 * (ch // 2) * ch + (ch // 2) * 22 * 22  # squeeze
    g += 22 * 22 * ch * (ch // 2) + ch * 22 * 22  # excite
    g += 22 * 22 * k * ch + k * 22 * 22  # project
    assert lrlc_macs(layer)["g"] == g
    r = one(layer)
    assert r.kind == "lrlc_id"
    assert r.train_macs == r.infer_macs == k * CONV + k * OUT + OUT + g
    assert r.params == n_params(layer)
    # basis + g's convs + row, column and channel bias
    g_params = (64 * k + k) + 4 * (9 * k + k)
    g_params += (ch * (ch // 2) + ch // 2) + (ch // 2 * ch + ch) + (ch * k + k)
    assert r.params == k * 64 * 64 * 9 + g_params + 22 + 22 + 64


def test_lrlc_mixed_bases_use_own_kernels_in_training_and_the_common_one_after_conversion():
    layer = LowRankLocallyConnected2d(8, 8, [3, 3], 12, dilation=[1, 2], padding="same", bias=False)
    parts = lrlc_macs(layer)
    assert parts["basis"] == 2 * 12 * 12 * 8 * 8 * 9
    assert parts["lc"] == 12 * 12 * 8 * 8 * 25 + 8 * 12 * 12  # 3x3 dilation 2 -> 5x5


def test_locally_connected():
    r = one(LocallyConnected2d(64, 64, 3, 24))
    assert r.params == 22 * 22 * 64 * 64 * 9 + 64 * 22 * 22
    assert r.train_macs == r.infer_macs == CONV + OUT


def test_coordconv_spatial_bias_batchnorm_linear():
    r = count_layer("x", CoordConv2d(1, 64, 3, bias=False), (1, 28, 28), (64, 26, 26))
    assert (r.params, r.train_macs) == (64 * 3 * 9, 26 * 26 * 64 * 3 * 9)
    r = count_layer("x", SpatialBias(22), (64, 22, 22), (64, 22, 22))
    assert (r.params, r.train_macs) == (22 + 22, OUT)
    r = count_layer("x", nn.BatchNorm2d(64), (64, 22, 22), (64, 22, 22))
    assert (r.params, r.train_macs) == (2 * 64, OUT)
    r = count_layer("x", nn.Linear(64, 10), (64,), (10,))
    assert (r.params, r.train_macs) == (64 * 10 + 10, 64 * 10 + 10)


@pytest.mark.parametrize("rank", [1, 3])
def test_wide_conv_widths(rank):
    hidden = wide_width(rank, 64, 64, last=False)
    assert hidden == int((rank * 64 + 64) / (64 + 64) * 64)
    rows = {r.name: r for r in count_model(build_model("wide2", rank=rank), (1, 28, 28))}
    assert rows["features.3"].train_macs == 24 * 24 * hidden * 64 * 9
    assert rows["features.6"].train_macs == 22 * 22 * 64 * hidden * 9  # its input widened
    rows = {r.name: r for r in count_model(build_model("wide3", rank=rank), (1, 28, 28))}
    assert rows["features.6"].train_macs == 22 * 22 * (64 * rank) * 64 * 9 == rank * CONV


NAMES = [n for n in paper_model_names() if not n.startswith("ns")]


@pytest.mark.parametrize("name", NAMES)
def test_model_totals_are_row_sums_and_cover_every_parameter(name):
    model = build_model(name, rank=2)
    counts = count_model(model, (1, 28, 28))
    total = counts.total
    assert total.params == sum(r.params for r in counts) == n_params(model)
    assert total.train_macs == sum(r.train_macs for r in counts)
    assert total.infer_macs == sum(r.infer_macs for r in counts)
    assert not counts.unknown
    assert model.training  # the dummy forward restored the mode
    assert "total" in format_counts(counts)


def test_conv_model_rows_by_hand():
    counts = count_model(build_model("conv"), (1, 28, 28))
    assert [r.kind for r in counts] == ["conv", "batchnorm"] * 3 + ["avgpool", "linear"]
    macs = 26 * 26 * 64 * 1 * 9 + 24 * 24 * 64 * 64 * 9 + CONV  # three convs, no bias
    macs += 64 * (26 * 26 + 24 * 24 + 22 * 22)  # BatchNorm
    macs += 64 * 22 * 22 + 64 * 10 + 10  # pooling sum, head
    assert counts.total.train_macs == counts.total.infer_macs == macs


def test_lrlc_model_inference_equals_conv_plus_bias_adds():
    conv = count_model(build_model("conv"), (1, 28, 28)).total
    lrlc = count_model(build_model("lrlc3", rank=4), (1, 28, 28)).total
    assert lrlc.infer_macs == conv.infer_macs + OUT
    assert lrlc.train_macs == conv.train_macs + 3 * CONV + 4 * OUT + OUT


def test_unknown_layer_keeps_params_and_warns():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))

        def forward(self, x):
            return x * self.scale.view(1, 3, 1, 1)

    model = nn.Sequential(nn.Conv2d(3, 3, 1), Odd())
    with pytest.warns(UserWarning, match="no MAC count"):
        counts = count_model(model, (3, 4, 4))
    assert counts.unknown == ["1"]
    assert counts.total.params == n_params(model)


def test_flops_vs_rank_series():
    data = flops_vs_rank(ranks=(1, 2, 4))
    assert data["conv"] == [2 * CONV] * 3
    assert data["lrlc_infer"] == [2 * (CONV + OUT)] * 3
    assert data["lrlc_train"] == [2 * (k * CONV + k * OUT + OUT) for k in (1, 2, 4)]
    assert data["wide"] == [2 * k * CONV for k in (1, 2, 4)]
    assert all(i > t for i, t in zip(data["lrlc_id"], data["lrlc_train"]))


def test_plot_writes_png(tmp_path):
    path = plot_flops_vs_rank(tmp_path / "fig" / "supp_fig4.png", ranks=(1, 2))
    data = path.read_bytes()
    assert len(data) > 10_000 and data[:8] == b"\x89PNG\r\n\x1a\n"

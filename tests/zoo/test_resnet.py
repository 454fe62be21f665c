"""`lrlc.models.resnet` and the harness's resnet names: the exact start is the plain ResNet,
the paper start is a fresh LRLC layer, parameters grow with the rank and not with the image,
and an LRLC ResNet-18 learns real digits in the harness."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from lrlc import LowRankLocallyConnected2d
from lrlc.analysis import count_model, format_scaling, resnet_scaling
from lrlc.experiments.config import TrainConfig
from lrlc.experiments.run import train
from lrlc.models import build_model, paper_row, resnet, uses_rank
from lrlc.models.resnet import stage_select

pytest.importorskip("torchvision")


def test_exact_start_is_the_plain_resnet_and_keeps_its_weights():
    torch.manual_seed(0)
    plain = resnet("resnet18", num_classes=7, input_size=32).eval()
    state = plain.state_dict()
    net = resnet("resnet18", num_classes=7, input_size=32, lrlc_stages=("layer3", "layer4"),
                 rank=3, start="exact", weights=state).eval()  # fmt: skip
    names = [n for n, m in net.named_modules() if isinstance(m, LowRankLocallyConnected2d)]
    assert names == [f"layer{s}.{b}.conv{c}" for s in (3, 4) for b in (0, 1) for c in (1, 2)]
    assert net.conv1.kernel_size == (3, 3) and isinstance(net.maxpool, torch.nn.Identity)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert (net(x) - plain(x)).abs().max() <= 1e-5 * plain(x).abs().max()


def test_paper_start_draws_independent_bases_and_honours_init():
    net = resnet("resnet18", input_size=64, lrlc_stages=("layer4",), rank=4, init="random")
    layer = net.layer4[0].conv2
    bases = layer.basis_filters().detach()
    assert (bases[0] - bases[1]).abs().max() > 1e-2  # not F/s + small d_k
    assert layer.init == "random" and layer.combining_weights().std() > 1e-3
    with pytest.raises(ValueError, match="init"):
        resnet("resnet18", input_size=64, lrlc_stages=("layer4",), rank=2, start="exact",
               init="random")  # fmt: skip
    with pytest.raises(ValueError, match="subset"):
        stage_select(["layer5"])


def test_parameters_grow_with_rank_not_with_image_size():
    """Slide 14: LRLC's parameters scale with the rank, a locally connected layer's with H*W."""

    def params(size, rank, net=None):
        net = net or resnet("resnet18", input_size=size, lrlc_stages=("layer4",), rank=rank)
        return sum(p.numel() for p in net.parameters())

    base = sum(p.numel() for p in resnet("resnet18", input_size=64).parameters())
    per_rank = params(64, 3) - params(64, 2)
    # a bank per 3x3 layer, and factorised logits alpha + beta on its 8x8 output grid
    assert per_rank == (256 + 3 * 512) * 512 * 9 + 4 * (8 + 8)
    # 128 px instead of 64 doubles each side: only the factorised logits and spatial biases
    # (O(H + W)) grow, not the filters (a locally connected layer would grow 4x).
    assert params(128, 2) - params(64, 2) < 1e-3 * base
    net = resnet("resnet18", input_size=64, lrlc_stages=("layer4",), rank=2)
    counts = count_model(net, (3, 64, 64))
    assert counts.total.params == params(64, 2, net) and not counts.unknown


def test_harness_names():
    assert paper_row("resnet50_lrlc") == "RESNET-50 (LRLC IN LAST STAGE)"
    assert uses_rank("resnet18_lrlc") and not uses_rank("resnet18")
    net = build_model("resnet18_lrlc", (1, 28, 28), 10, rank=2, layer_kwargs={"combining": "row"})
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="--omega-1 applies to ns layers"):
        build_model("resnet18_lrlc", (1, 28, 28), 10, layer_kwargs={"omega_1": 1.0})


def half_size(split):
    """Real digits at 14 x 14 (2 x 2 means), so that a ResNet-18 trains in seconds here."""
    images, labels = split
    return torch.nn.functional.avg_pool2d(images, 2), labels


def test_an_lrlc_resnet18_learns_digits_in_the_harness(mnist_small, tmp_path):
    ds = mnist_small
    data = dataclasses.replace(
        ds, train=half_size(t[:768] for t in ds.train), val=half_size(t[:500] for t in ds.val),
        test=half_size(t[:100] for t in ds.test), input_shape=(1, 14, 14),
        fingerprint=ds.fingerprint + "-resnet14",
    )  # fmt: skip
    config = TrainConfig.from_preset(
        "paper", model="resnet18_lrlc", rank=2, epochs=1, batch_size=32, lr=2e-3,
        warmup_epochs=0, train_size=768, eval_batch_size=500,
    )  # fmt: skip
    torch.manual_seed(0)
    net = build_model("resnet18_lrlc", (1, 14, 14), 10, rank=2).eval()
    with torch.no_grad():
        x, y = data.val
        untrained = 100.0 * float((net(x).argmax(1) == y).float().mean())
    result = train(config, tmp_path, data=data, progress=False)
    assert result["learned_omega_1"] == {}
    # One epoch (24 steps) on 768 digits: about 10% untrained, then 65% (AMD EPYC Zen 5,
    # float32 and bf16) and 68% (Intel Xeon with AMX, float32); two epochs reached 93% but
    # doubled the suite's slowest test. A network whose gradients do not reach its layers
    # stays near chance.
    assert untrained < 30.0 and result["metrics"]["val_acc"] > 45.0, (untrained, result)


def test_scaling_table_lrlc_by_rank_and_locally_connected_by_positions():
    rows = resnet_scaling("resnet18", ranks=(1, 2, 3), input_size=64, num_classes=10)
    plain, r1, r2, r3, lc = rows
    assert [r["rank"] for r in rows] == [None, 1, 2, 3, None]
    per_rank = r3["params"] - r2["params"]
    assert per_rank == r2["params"] - r1["params"] > 0  # linear in the rank
    # the 4 layers' filters at each of their output positions (8x8 from 8x8; layer4.0.conv1
    # takes 16x16 to 8x8), plus a bias per channel and position
    filters = (256 + 3 * 512) * 512 * 9
    assert lc["params"] - plain["params"] == filters * 63 + 4 * 512 * 64
    assert r3["train_macs"] > r2["train_macs"] > plain["train_macs"]  # Algorithm 1: K convs
    assert r3["infer_macs"] == lc["infer_macs"] == plain["infer_macs"] + 4 * 512 * 64
    assert "| resnet18 + locally connected |" in format_scaling(rows)

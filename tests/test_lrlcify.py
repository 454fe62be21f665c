"""`lrlc.lrlcify` and `lrlc.export_inference` on networks built here (torchvision and timm are
not installed): the converted network computes the original function, can learn away from it,
and refuses what it cannot convert."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lrlc
from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.data import load_dataset
from lrlc.lrlcify import DEFAULT_PERTURBATION, last_spatial

ATOL = 1e-5


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        mid = cout // 2
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False))

    def forward(self, x):
        out = self.conv3(torch.relu(self.conv2(torch.relu(self.conv1(x)))))
        return torch.relu(self.bn(out) + self.downsample(x))


class TinyResNet(nn.Module):
    """28x28 -> stem (bias, padding 1) -> depthwise -> 28 -> 14 (stride 2) -> 7 (bottleneck)
    -> head (padding "same", bias) -> 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1, bias=True)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.layer1 = nn.Sequential(BasicBlock(8, 8))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, stride=2))
        self.layer3 = nn.Sequential(Bottleneck(16, 16, stride=2))
        self.head = nn.Conv2d(16, 16, 3, padding="same", bias=True)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = self.dw(torch.relu(self.stem(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.relu(self.head(x)).flatten(1))


def tiny_resnet(seed: int = 0) -> TinyResNet:
    """Random weights, biases and BatchNorm statistics, so that no layer is trivial."""
    torch.manual_seed(seed)
    net = TinyResNet()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            for t in (m.weight, m.bias, m.running_mean):
                nn.init.uniform_(t, -0.5, 0.5)
            nn.init.uniform_(m.running_var, 0.5, 1.5)
    return net


# Every convolution but the depthwise one, and the input size it sees on 28x28 images.
INPUT_SIZES = {
    "stem": (28, 28),
    "layer1.0.conv1": (28, 28),
    "layer1.0.conv2": (28, 28),
    "layer2.0.conv1": (28, 28),
    "layer2.0.conv2": (14, 14),
    "layer2.0.downsample.0": (28, 28),
    "layer3.0.conv1": (14, 14),
    "layer3.0.conv2": (14, 14),
    "layer3.0.conv3": (7, 7),
    "layer3.0.downsample.0": (14, 14),
    "head": (7, 7),
}
DENSE = list(INPUT_SIZES)
SELECTIONS = {
    "pattern-bias-padding1": ("stem", ["stem"]),
    "patterns-stride2-3x3-and-1x1": (
        ["layer2.*.conv1", "layer2.*.downsample.0"],
        ["layer2.0.conv1", "layer2.0.downsample.0"],
    ),
    "glob-across-blocks": ("layer*.conv2", ["layer1.0.conv2", "layer2.0.conv2", "layer3.0.conv2"]),
    "predicate-1x1": (
        lambda name, m: m.kernel_size == (1, 1),
        ["layer2.0.downsample.0", "layer3.0.conv1", "layer3.0.conv3", "layer3.0.downsample.0"],
    ),
    "last_spatial": (last_spatial(3), ["layer2.0.conv2", "layer3.0.conv2", "head"]),
    "padding-same": ("head", ["head"]),
    "every-dense-conv": (lambda name, m: m.groups == 1, DENSE),
}


def assert_same_function(a: nn.Module, b: nn.Module, shape=(1, 28, 28), atol=ATOL, dtype=None):
    a.eval(), b.eval()
    for batch in (1, 5):  # the example's batch is 2
        x = torch.randn(batch, *shape, dtype=dtype or torch.float32)
        with torch.no_grad():
            torch.testing.assert_close(b(x), a(x), atol=atol, rtol=0)


@pytest.mark.parametrize("case", SELECTIONS, ids=str)
def test_the_converted_net_computes_the_original_function(case):
    select, expected = SELECTIONS[case]
    net = tiny_resnet()
    result = lrlc.lrlcify(net, torch.randn(2, 1, 28, 28), select=select, rank=3)
    assert result.converted == {name: INPUT_SIZES[name] for name in expected}
    assert result.skipped == {}
    assert result.max_abs_error is not None and result.max_abs_error < ATOL
    for name, module in result.model.named_modules():
        if name in expected:
            assert isinstance(module, LowRankLocallyConnected2d) and module.rank == 3, name
            original = net.get_submodule(name)
            assert module.stride == original.stride and module.kernel_size == original.kernel_size
            assert (module.bias is None) == (original.bias is None)
        elif name in DENSE:
            assert type(module) is nn.Conv2d, name
    assert_same_function(net, result.model)


@pytest.mark.parametrize(
    "conv",
    [
        nn.Conv2d(3, 4, (2, 4), padding="same", dilation=(1, 2)),
        nn.Conv2d(3, 4, (3, 5), stride=(2, 1), padding=(1, 2), bias=False),
        nn.Conv2d(3, 4, 3, stride=3, padding="valid", dilation=2),
    ],
    ids=["even-kernel-same-dilated", "asymmetric-stride-and-padding", "valid-strided-dilated"],
)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_kernel_geometries_other_than_3x3(conv):
    net = nn.Sequential(conv, nn.ReLU())
    result = lrlc.lrlcify(net, torch.randn(2, 3, 11, 13), select="0", rank=2)
    assert_same_function(net, result.model, shape=(3, 11, 13))


@pytest.mark.parametrize(
    "combining, normalize",
    [(c, n) for c in ("factorized", "full") for n in ("softmax", "norm", "none")]
    + [("row", "softmax"), ("column", "softmax"), ("input_dependent", "softmax")]
    + [("input_dependent", "norm")],
)
def test_exact_for_each_combining_mode_and_normalization(combining, normalize):
    net = tiny_resnet(1)
    result = lrlc.lrlcify(
        net,
        torch.randn(2, 1, 28, 28),
        select=lambda name, m: m.groups == 1,
        rank=4,
        combining=combining,
        normalize=normalize,
    )
    assert sorted(result.converted) == sorted(DENSE)
    assert_same_function(net, result.model)


def test_float64_keeps_the_dtype_and_is_exact_to_its_precision():
    net = tiny_resnet().double()
    x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    result = lrlc.lrlcify(net, x, select="*", rank=2, skip_unsupported=True)
    assert list(result.skipped) == ["dw"]
    assert {p.dtype for p in result.model.parameters()} == {torch.float64}
    assert_same_function(net, result.model, atol=1e-12, dtype=torch.float64)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_layers_stay_on_the_convolutions_device():
    net = tiny_resnet().cuda()
    result = lrlc.lrlcify(net, torch.randn(2, 1, 28, 28, device="cuda"), select="head", rank=2)
    assert {p.device.type for p in result.model.head.parameters()} == {"cuda"}
    x = torch.randn(3, 1, 28, 28, device="cuda")
    with torch.no_grad():
        torch.testing.assert_close(result.model.eval()(x), net.eval()(x), atol=1e-4, rtol=0)


def test_the_bases_average_to_the_convolution_and_differ_by_the_perturbation():
    net = tiny_resnet()
    conv = net.head
    x = torch.randn(2, 1, 28, 28)
    layer = lrlc.lrlcify(net, x, select="head", rank=4, perturbation=0.1).model.head
    bases = layer.basis_filters().detach()
    torch.testing.assert_close(bases.mean(0), conv.weight.detach(), atol=1e-7, rtol=0)
    rms = (bases - conv.weight.detach()).pow(2).mean(dim=(1, 2, 3, 4)).sqrt()
    assert torch.allclose(rms, torch.full_like(rms, 0.1 * conv.weight.std().item()), rtol=0.2)
    assert torch.equal(layer.bias.detach(), conv.bias.detach())
    assert not layer.bias_row.any() and not layer.bias_col.any()

    same = lrlc.lrlcify(net, x, select="head", rank=4, perturbation=0).model.head
    assert (same.basis_filters() == conv.weight).all()
    seeded = [
        lrlc.lrlcify(net, x, select="head", rank=4, generator=torch.Generator().manual_seed(7))
        for _ in range(2)
    ]
    assert torch.equal(*(r.model.head.basis_filters() for r in seeded))


class TwiceScaled(nn.Conv2d):
    def forward(self, x):
        return 2 * super().forward(x)


class Awkward(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.good = nn.Conv2d(3, 6, 3, padding=1)
        self.depthwise = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.reflect = nn.Conv2d(6, 6, 3, padding=1, padding_mode="reflect")
        self.scaled = TwiceScaled(6, 6, 1)
        self.resized = nn.Conv2d(6, 6, 1)
        self.unused = nn.Conv2d(6, 6, 3)

    def forward(self, x):
        x = self.scaled(self.reflect(self.depthwise(self.good(x))))
        return self.resized(x) + self.resized(x[..., ::2, ::2]).mean()


UNSUPPORTED = {
    "depthwise": "groups=6",
    "reflect": "padding_mode='reflect'",
    "scaled": "TwiceScaled",
    "resized": "several input sizes",
    "unused": "never calls it",
}


def test_unsupported_convolutions_are_named_in_one_error_or_skipped():
    torch.manual_seed(0)
    net, x = Awkward(), torch.randn(2, 3, 8, 8)
    with pytest.raises(ValueError) as info:
        lrlc.lrlcify(net, x, select="*", rank=2)
    message = str(info.value)
    assert "cannot convert 5 of the 6 selected" in message and "skip_unsupported" in message
    for name, why in UNSUPPORTED.items():
        assert f"{name}: " in message and why in message, (name, message)
    assert "good:" not in message

    result = lrlc.lrlcify(net, x, select="*", rank=2, skip_unsupported=True)
    assert list(result.converted) == ["good"] and set(result.skipped) == set(UNSUPPORTED)
    assert isinstance(result.model.good, LowRankLocallyConnected2d)
    assert type(result.model.depthwise) is nn.Conv2d
    assert_same_function(net, result.model, shape=(3, 8, 8))
    with pytest.raises(ValueError, match="none of the 1 selected.*groups=6"):
        lrlc.lrlcify(net, x, select="depthwise", rank=2, skip_unsupported=True)


def test_selecting_nothing_says_what_there_is():
    net, x = tiny_resnet(), torch.randn(2, 1, 28, 28)
    with pytest.raises(ValueError, match=r"\['nope\*'\] match no nn.Conv2d(.|\n)*layer3.0.conv2"):
        lrlc.lrlcify(net, x, select=["stem", "nope*"], rank=2)
    with pytest.raises(ValueError, match=r"predicate select no nn.Conv2d(.|\n)*input \(7, 7\)"):
        lrlc.lrlcify(net, x, select=lambda name, m: False, rank=2)
    with pytest.raises(ValueError, match="calls only 8 convolution"):
        lrlc.lrlcify(net, x, select=last_spatial(9), rank=2)
    with pytest.raises(ValueError, match="n >= 1"):
        last_spatial(0)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"padding": 0}, "takes padding from each convolution"),
        ({"init": "random"}, "init='conv'"),
        ({"perturbation": -1.0}, "perturbation"),
        ({"combining": "bogus"}, "combining"),
        ({"rank": 0}, "rank"),
    ],
)
def test_bad_options_are_refused_before_anything_changes(options, match):
    kwargs = {"select": "stem", "rank": 2, **options}
    with pytest.raises(ValueError, match=match):
        lrlc.lrlcify(tiny_resnet(), torch.randn(2, 1, 28, 28), **kwargs)


def test_the_original_is_untouched_and_training_modes_are_kept():
    net = tiny_resnet()
    net.train()
    net.layer2.eval()  # mixed modes: each module's own flag must come back
    modes = {name: m.training for name, m in net.named_modules()}
    state = {k: v.clone() for k, v in net.state_dict().items()}
    result = lrlc.lrlcify(net, torch.randn(2, 1, 28, 28), select="layer*.conv1", rank=2)
    assert {name: m.training for name, m in net.named_modules()} == modes
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert type(net.layer1[0].conv1) is nn.Conv2d
    assert {name: m.training for name, m in result.model.named_modules() if name in modes} == modes
    assert result.model.layer1[0].conv1.training and not result.model.layer2[0].conv1.training

    same = lrlc.lrlcify(net, torch.randn(2, 1, 28, 28), select="stem", rank=2, inplace=True)
    assert same.model is net and isinstance(net.stem, LowRankLocallyConnected2d)


def test_a_shared_convolution_becomes_one_shared_layer():
    conv = nn.Conv2d(4, 4, 3, padding=1)
    net = nn.Sequential(conv, nn.ReLU(), conv)
    result = lrlc.lrlcify(net, torch.randn(2, 4, 6, 6), select="0", rank=2)
    assert list(result.converted) == ["0"]
    assert result.model[0] is result.model[2]
    assert isinstance(result.model[2], LowRankLocallyConnected2d)
    assert_same_function(net, result.model, shape=(4, 6, 6))


def test_export_inference_equals_the_trained_lrlc_net():
    x = torch.randn(2, 1, 28, 28)
    net = lrlc.lrlcify(tiny_resnet(), x, select=["stem", "layer2.*"], rank=3).model
    net = lrlc.lrlcify(net, x, select="head", rank=2, combining="input_dependent").model
    torch.manual_seed(3)
    with torch.no_grad():  # move every LRLC layer off its convolution, as training would
        for m in net.modules():
            if isinstance(m, LowRankLocallyConnected2d):
                for p in m.parameters():
                    p.add_(0.3 * torch.randn_like(p))
    exported = lrlc.export_inference(net)
    assert sorted(exported.converted) == [
        "layer2.0.conv1",
        "layer2.0.conv2",
        "layer2.0.downsample.0",
        "stem",
    ]
    assert list(exported.kept) == ["head"] and "input-dependent" in exported.kept["head"]
    assert isinstance(exported.model.stem, LocallyConnected2d)
    assert isinstance(net.stem, LowRankLocallyConnected2d)  # the input is not modified
    assert_same_function(net, exported.model)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    images, labels = load_dataset("mnist", mnist_dir, train_size=512).train
    return images, labels


def train_a_few_steps(model: nn.Module, images, labels, steps: int = 6) -> None:
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(steps):
        batch = slice(64 * step, 64 * (step + 1))
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("perturbation", [DEFAULT_PERTURBATION, 0.0])
def test_training_moves_the_layer_away_from_the_convolution(mnist, perturbation):
    images, labels = mnist
    assert images.shape[1:] == (1, 28, 28) and images.min() == -1 and images.max() == 1
    net = tiny_resnet()
    generator = torch.Generator().manual_seed(0)
    result = lrlc.lrlcify(
        net,
        images[:2],
        select="layer2.0.conv2",
        rank=3,
        perturbation=perturbation,
        generator=generator,
    )
    layer = result.model.layer2[0].conv2
    before = layer.basis_filters().detach().clone()
    train_a_few_steps(result.model, images, labels)
    moved = layer.basis_filters().detach() - before
    assert moved.abs().max() > 1e-3  # the bases trained
    # How differently the bases moved, and how far the weights are from uniform over k.
    apart = (moved - moved[0]).abs().max().item()
    weights = layer.combining_weights().detach()
    spread = (weights - 1 / 3).abs().max().item()
    if perturbation:
        assert apart > 1e-4 and spread > 1e-3, (apart, spread)
    else:  # the symmetric point: identical bases get identical updates, forever
        assert apart < 1e-7 and spread < 1e-7, (apart, spread)

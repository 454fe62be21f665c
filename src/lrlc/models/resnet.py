"""ResNets with LRLC layers in chosen stages, built by `lrlc.lrlcify` from torchvision's own
definitions (the paper's large-scale case: ResNet-50 on 224 x 224 ImageNet, its slide 14).

torchvision is an optional dependency (the ``vision`` extra); it is imported when a ResNet is
built, so the rest of `lrlc` works without it.

Which layers: the spatial (kernel > 1) convolutions of the chosen stages (``"layer4"`` by
default), i.e. both 3x3 convolutions of a basic block and the middle one of a bottleneck. 1x1
convolutions (bottleneck ends, downsampling shortcuts) stay convolutions: an LRLC layer with a
1x1 kernel relaxes nothing but the bias. The paper does not say which layers of its ResNet-50
it replaced; the last stage follows its finding that late layers gain most.

Two starting points:

- ``start="paper"`` (default): each LRLC layer is reset to the paper's initialisation
  (independent He-uniform bases, combining weights that start equal): what training from
  scratch uses.
- ``start="exact"``: the layers keep `lrlcify`'s exact conversion, so the network computes what
  the convolutional one did (pretrained ``weights`` preserved) and training moves away from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..layers import LowRankLocallyConnected2d
from ..lrlcify import lrlcify
from .pooling import GlobalAvgPool2d

ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
STAGES = ("layer1", "layer2", "layer3", "layer4")
STARTS = ("paper", "exact")
#: Below this input size the ImageNet stem (7x7 stride 2 + max pool) would leave the last stage
#: at 1x1 or less, so small images get the CIFAR-style stem (3x3 stride 1, no max pool).
SMALL_INPUT = 112


def _torchvision_models():
    try:
        import torchvision.models as tvm
    except ImportError as err:  # the optional dependency, named with the way to get it
        raise ImportError(
            "lrlc.models.resnet builds on torchvision, which is not installed: "
            "pip install 'lrlc[vision]' (or torchvision matching your torch)"
        ) from err
    return tvm


def stage_select(stages: Sequence[str]) -> Callable[[str, nn.Conv2d], bool]:
    """An `lrlcify` predicate: the spatial (kernel > 1) convolutions inside `stages`."""
    unknown = sorted(set(stages) - set(STAGES))
    if unknown or not stages:
        raise ValueError(f"stages must be a non-empty subset of {STAGES}, got {list(stages)}")
    prefixes = tuple(f"{s}." for s in stages)

    def select(name: str, conv: nn.Conv2d) -> bool:
        return name.startswith(prefixes) and max(conv.kernel_size) > 1

    return select


def resnet(
    arch: str = "resnet50",
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    input_size: int | tuple[int, int] = 224,
    lrlc_stages: Sequence[str] = (),
    rank: int = 1,
    start: str = "paper",
    small_input: bool | None = None,
    weights: Any = None,
    **lrlc_options: Any,
) -> nn.Module:
    """A torchvision ResNet for (N, in_channels, H, W) inputs of `input_size`, logits
    (N, num_classes), with rank-`rank` LRLC layers in `lrlc_stages` (none: the plain ResNet).

    Args:
        arch: one of `ARCHS`.
        input_size: the (H, W) the network is built for; LRLC layers accept only it.
        small_input: the CIFAR-style stem (3x3 stride-1 first convolution, no max pool);
            None chooses it below `SMALL_INPUT` pixels.
        weights: a torchvision weights enum or a state dict of the plain ResNet, loaded before
            the conversion (so ``start="exact"`` keeps them). Downloading weights needs a
            network; a state dict saved beforehand does not.
        start: "paper" or "exact" (module docstring).
        **lrlc_options: `combining`, `normalize`, `spatial_bias`, `path`, `perturbation`, ...
            of `lrlcify` and `LowRankLocallyConnected2d`.
    """
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")
    h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    if small_input is None:
        small_input = min(h, w) < SMALL_INPUT
    tvm = _torchvision_models()
    enum = weights if weights is not None and not isinstance(weights, Mapping) else None
    model = getattr(tvm, arch)(weights=enum, num_classes=num_classes)
    model.avgpool = GlobalAvgPool2d()  # the same pooling; its gradient in the input's layout
    _adapt_stem(model, in_channels, small_input)
    if isinstance(weights, Mapping):
        model.load_state_dict(weights)
    if not lrlc_stages:
        return model
    # lrlcify starts every layer as its convolution (init "conv"); a paper start may then
    # re-draw the combining logits as asked (Supp. Fig. 1's random init).
    init = lrlc_options.pop("init", "conv")
    if start == "exact" and init != "conv":
        raise ValueError(
            f'start="exact" keeps the convolution, which needs init="conv"; got {init!r}'
        )
    example = torch.zeros(1, in_channels, h, w)
    result = lrlcify(
        model, example, select=stage_select(lrlc_stages), rank=rank, inplace=True, check=False,
        **lrlc_options,
    )  # fmt: skip
    model = result.model
    if start == "paper":
        for layer in model.modules():
            if isinstance(layer, LowRankLocallyConnected2d):
                layer.init = layer.combiner.init = init
                layer.reset_parameters()
    return model


def _adapt_stem(model: nn.Module, in_channels: int, small_input: bool) -> None:
    """Replace the first convolution for other channel counts or the small-input stem."""
    old = model.conv1
    if in_channels == old.in_channels and not small_input:
        return
    kernel, stride, padding = (3, 1, 1) if small_input else (7, 2, 3)
    model.conv1 = nn.Conv2d(in_channels, old.out_channels, kernel, stride, padding, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    if small_input:
        model.maxpool = nn.Identity()

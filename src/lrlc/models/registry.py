"""Every network the harness can train, by name: the paper's 3-layer nets (`paper_net`) and
ResNets with LRLC layers (`resnet`). One `ModelFamily` entry per family; the harness asks this
module, never a family, what a name means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from . import paper_net, resnet
from .kinds import check_options, get_kind


@dataclass(frozen=True)
class ModelFamily:
    """How one family answers for its names: `names()`, the table row `row(name)`, the layer
    kinds whose options a name takes `kinds(name)`, and `build(name, input_shape,
    num_classes, rank, width, layer_kwargs)`."""

    names: Callable[[], list[str]]
    row: Callable[[str], str]
    kinds: Callable[[str], list[str]]
    build: Callable[..., nn.Module]


# ResNets -------------------------------------------------------------------------------------
# resnetNN is torchvision's ResNet; resnetNN_lrlc has rank-K LRLC layers in its last stage.
_RESNETS = ("resnet18", "resnet50")


def _resnet_names() -> list[str]:
    return [f"{a}{suffix}" for a in _RESNETS for suffix in ("", "_lrlc")]


def _resnet_row(name: str) -> str:
    arch = name.removesuffix("_lrlc")
    label = "RESNET-" + arch.removeprefix("resnet")
    return label + (" (LRLC IN LAST STAGE)" if name.endswith("_lrlc") else "")


def _resnet_kinds(name: str) -> list[str]:
    return ["lrlc"] if name.endswith("_lrlc") else ["conv"]


def _build_resnet(
    name: str,
    input_shape: Sequence[int],
    num_classes: int,
    rank: int,
    width: int,
    layer_kwargs: Mapping[str, Any],
) -> nn.Module:
    c, h, w = input_shape
    stages = ("layer4",) if name.endswith("_lrlc") else ()
    return resnet.resnet(
        name.removesuffix("_lrlc"), num_classes=num_classes, in_channels=c, input_size=(h, w),
        lrlc_stages=stages, rank=rank, **layer_kwargs,
    )  # fmt: skip


def _build_paper(
    name: str,
    input_shape: Sequence[int],
    num_classes: int,
    rank: int,
    width: int,
    layer_kwargs: Mapping[str, Any],
) -> nn.Module:
    return paper_net.PaperNet(
        paper_net.layer_kinds(name), input_shape=input_shape, num_classes=num_classes,
        width=width, rank=rank, flatten_head=name == "conv_fc", layer_kwargs=layer_kwargs,
    )  # fmt: skip


FAMILIES: dict[str, ModelFamily] = {
    "paper": ModelFamily(
        paper_net.model_names, paper_net.paper_row, paper_net.layer_kinds, _build_paper
    ),
    "resnet": ModelFamily(_resnet_names, _resnet_row, _resnet_kinds, _build_resnet),
}


def model_names() -> list[str]:
    """Every model name: the paper's, in the order of its tables, then the ResNets."""
    return [n for family in FAMILIES.values() for n in family.names()]


def family_of(name: str) -> ModelFamily:
    for family in FAMILIES.values():
        if name in family.names():
            return family
    raise ValueError(f"unknown model {name!r}; known models: {', '.join(model_names())}")


def paper_row(name: str) -> str:
    """The table row of a model name, e.g. lrlc3_id -> 'LRLC (3RD LAYER & INPUT DEPENDENT
    WEIGHTS)', resnet50_lrlc -> 'RESNET-50 (LRLC IN LAST STAGE)'."""
    return family_of(name).row(name)


def layer_kinds(name: str) -> list[str]:
    """The layer kinds of a model whose options it takes (`lrlc.models.kinds`)."""
    return family_of(name).kinds(name)


def uses_rank(name: str) -> bool:
    """Whether `rank` changes the model (LRLC ranks, wide-conv widths)."""
    return any(get_kind(k).uses_rank for k in layer_kinds(name))


def build_model(
    name: str,
    input_shape: Sequence[int] = (1, 28, 28),
    num_classes: int = 10,
    rank: int = 1,
    width: int = 64,
    layer_kwargs: Mapping[str, Any] | None = None,
) -> nn.Module:
    """The network for a model name (see `model_names()`).

    `rank` is the LRLC rank for LRLC models and the widening factor K for wide* models; other
    models ignore it. `width` is the paper nets' channel count (ResNets have their own).
    `layer_kwargs` are layer options (`lrlc.models.kinds`): each must be one that a layer kind
    of this model takes, else a ValueError says which kinds take it.
    """
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise ValueError(f"rank must be an integer >= 1, got {rank!r}")
    family = family_of(name)
    check_options(family.kinds(name), layer_kwargs or {}, name)
    return family.build(name, input_shape, num_classes, rank, width, dict(layer_kwargs or {}))

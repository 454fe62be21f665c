"""The paper's 3-layer network and its variants, one model name per row of its tables.

Three 3x3 'valid' layers of 64 channels, each followed by BatchNorm and ReLU, then global
average pooling and a linear head (Elsayed et al. 2020, section 4). A variant swaps the layer
at one depth (suffix 1, 2, 3) or at all depths (suffix "all") for another kind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from ..layers import (
    CoordConv2d,
    LocallyConnected2d,
    LowRankLocallyConnected2d,
    NonStationaryConv2d,
    SpatialBias,
)

DEPTH = 3
# model family -> (layer kind, the paper's row label)
FAMILIES: dict[str, tuple[str, str]] = {
    "conv_sb": ("conv_sb", "CONVOLUTION + SPATIAL BIAS"),
    "lrlc": ("lrlc", "LRLC"),
    "lc": ("lc", "LOCALLY CONNECTED"),
    "wide": ("wide", "WIDE CONVOLUTION"),
    "ns": ("ns", "NON-STATIONARY FILTERS"),
}
_ORDINAL = {"1": "1ST LAYER", "2": "2ND LAYER", "3": "3RD LAYER", "all": "ALL LAYERS"}
_PLACED = re.compile(r"^(conv_sb|lrlc|lc|wide|ns)(1|2|3|all)(_id)?$")


def model_names() -> list[str]:
    """Every model name, in the order of the paper's tables."""
    names = ["conv", "conv_fc"]
    names += [f"conv_sb{p}" for p in ("1", "2", "3", "all")]
    names += ["coordconv"]
    names += [f"lrlc{p}" for p in ("1", "2", "3", "all")]
    names += [f"lrlc{p}_id" for p in ("1", "2", "3")]
    names += [f"lc{p}" for p in ("1", "2", "3")]
    names += [f"wide{p}" for p in ("1", "2", "3")]
    names += [f"ns{p}" for p in ("1", "2", "3", "all")]
    return names


def paper_row(name: str) -> str:
    """The paper's table row for a model name, e.g. lrlc3_id -> 'LRLC (3RD LAYER & INPUT
    DEPENDENT WEIGHTS)'."""
    if name == "conv":
        return "CONVOLUTION"
    if name == "conv_fc":
        return "CONVOLUTION (FC)"
    if name == "coordconv":
        return "COORDCONV"
    m = _PLACED.match(name)
    if not m:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(model_names())}")
    family, place, dependent = m.groups()
    label = _ORDINAL[place] + (" & INPUT DEPENDENT WEIGHTS" if dependent else "")
    return f"{FAMILIES[family][1]} ({label})"


def layer_kinds(name: str) -> list[str]:
    """The kind of each of the three layers, e.g. lrlc3 -> ['conv', 'conv', 'lrlc']."""
    paper_row(name)  # validates the name
    if name in ("conv", "conv_fc"):
        return ["conv"] * DEPTH
    if name == "coordconv":
        return ["coordconv"] + ["conv"] * (DEPTH - 1)
    family, place, dependent = _PLACED.match(name).groups()  # type: ignore[union-attr]
    if dependent and family != "lrlc":
        raise ValueError(f"only LRLC models have an input-dependent variant, got {name!r}")
    if dependent and place == "all":
        raise ValueError("lrlcall_id is not one of the paper's models")
    kind = family + ("_id" if dependent else "")
    depths = range(DEPTH) if place == "all" else [int(place) - 1]
    return [kind if d in depths else "conv" for d in range(DEPTH)]


def wide_width(rank: int, c_in: int, c_out: int, last: bool) -> int:
    """Channels of a convolution widened to match an LRLC layer of rank K in parameters.

    A hidden layer's width also changes the next layer's input, hence the first formula
    (from the authors' code); a last conv layer only feeds the small linear head.
    """
    if last:
        return c_out * rank
    return int((rank * c_in + c_out) / (c_in + c_out) * c_out)


def he_uniform_(conv: nn.Conv2d) -> nn.Conv2d:
    """Re-draw a convolution's kernel He-uniform on fan_in, as the LRLC bases and LC filters.

    The authors give every layer kind the same kernel initializer; PyTorch's default conv init
    is sqrt(6) times narrower, which under Adam changes how fast a layer learns, so the
    convolution baselines would differ from a rank-1 LRLC by their init alone.
    """
    nn.init.kaiming_uniform_(conv.weight, a=0.0)
    return conv


def _layer(
    kind: str,
    c_in: int,
    c_out: int,
    size: tuple[int, int],
    rank: int,
    layer_kwargs: dict[str, Any],
) -> nn.Module:
    """One layer of the network; channel bias off where BatchNorm follows (as the authors)."""
    if kind in ("conv", "wide"):
        return he_uniform_(nn.Conv2d(c_in, c_out, 3, bias=False))
    if kind == "coordconv":
        layer = CoordConv2d(c_in, c_out, 3, bias=False)
        he_uniform_(layer.conv)
        return layer
    if kind == "conv_sb":
        conv = he_uniform_(nn.Conv2d(c_in, c_out, 3, bias=False))
        return nn.Sequential(conv, SpatialBias((size[0] - 2, size[1] - 2)))
    if kind in ("lrlc", "lrlc_id"):
        kw = dict(layer_kwargs)
        if kind == "lrlc_id":
            kw["combining"] = "input_dependent"
        return LowRankLocallyConnected2d(
            c_in, c_out, 3, input_size=size, rank=rank, bias=False, **kw
        )
    if kind == "lc":
        return LocallyConnected2d(c_in, c_out, 3, input_size=size, bias=True)
    if kind == "ns":
        return NonStationaryConv2d(c_in, c_out, 3, input_size=size, bias=False, **layer_kwargs)
    raise ValueError(f"unknown layer kind {kind!r}")


class SimpleNet(nn.Module):
    """(N, C, H, W) -> logits (N, num_classes)."""

    def __init__(
        self,
        kinds: Sequence[str],
        input_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        width: int = 64,
        rank: int = 1,
        flatten_head: bool = False,
        layer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        c, h, w = input_shape
        layers: list[nn.Module] = []
        for depth, kind in enumerate(kinds):
            last = depth == len(kinds) - 1
            c_out = wide_width(rank, c, width, last) if kind == "wide" else width
            layers.append(_layer(kind, c, c_out, (h, w), rank, layer_kwargs or {}))
            layers.append(nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.1))
            layers.append(nn.ReLU(inplace=True))
            c, h, w = c_out, h - 2, w - 2
        self.features = nn.Sequential(*layers)
        self.flatten_head = flatten_head
        self.pool = nn.Identity() if flatten_head else nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c * h * w if flatten_head else c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))

    def layers(self) -> list[nn.Module]:
        """The spatial layers in depth order (without their BatchNorm and ReLU)."""
        return list(self.features)[::3]

    def learned_omega_1(self) -> dict[int, float]:
        """Depth (1-based) -> omega_1 of each non-stationary layer: its learned relaxation."""
        return {
            depth: layer.omega_1.item()
            for depth, layer in enumerate(self.layers(), start=1)
            if isinstance(layer, NonStationaryConv2d)
        }


def build_model(
    name: str,
    input_shape: Sequence[int] = (1, 28, 28),
    num_classes: int = 10,
    rank: int = 1,
    width: int = 64,
    layer_kwargs: dict[str, Any] | None = None,
) -> SimpleNet:
    """The network for a model name of the paper's tables (see `model_names()`).

    `rank` is the LRLC rank for lrlc* models and the widening factor K for wide* models; other
    models ignore it. `layer_kwargs` go to the LRLC (or non-stationary) layers.
    """
    if not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be an integer >= 1, got {rank!r}")
    return SimpleNet(
        layer_kinds(name),
        input_shape=input_shape,
        num_classes=num_classes,
        width=width,
        rank=rank,
        flatten_head=name == "conv_fc",
        layer_kwargs=layer_kwargs,
    )


def uses_rank(name: str) -> bool:
    """Whether `rank` changes the model (LRLC ranks, wide-conv widths)."""
    return name.startswith(("lrlc", "wide"))

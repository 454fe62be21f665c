"""The paper's 3-layer network and its variants, one model name per row of its tables.

Three 3x3 'valid' layers of 64 channels, each followed by BatchNorm and ReLU, then global
average pooling and a linear head (Elsayed et al. 2020, section 4). A variant swaps the layer
at one depth (suffix 1, 2, 3) or at all depths (suffix "all") for another kind of layer
(`lrlc.models.kinds`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from ..layers import NonStationaryConv2d
from .kinds import get_kind
from .pooling import GlobalAvgPool2d

DEPTH = 3
_ORDINAL = {"1": "1ST LAYER", "2": "2ND LAYER", "3": "3RD LAYER", "all": "ALL LAYERS"}
_PLACED = re.compile(r"^(conv_sb|lrlc|lc|wide|ns)(1|2|3|all)(_id)?$")
# Models that are not one kind placed at some depths: (kinds, the paper's row label).
_WHOLE = {
    "conv": (["conv"] * DEPTH, "CONVOLUTION"),
    "conv_fc": (["conv"] * DEPTH, "CONVOLUTION (FC)"),
    "coordconv": (["coordconv"] + ["conv"] * (DEPTH - 1), "COORDCONV"),
}


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


def _parse(name: str) -> tuple[str, str, bool]:
    m = _PLACED.match(name)
    if not m:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(model_names())}")
    family, place, dependent = m.groups()  # the family is the name of the layer kind
    if dependent and family != "lrlc":
        raise ValueError(f"only LRLC models have an input-dependent variant, got {name!r}")
    if dependent and place == "all":
        raise ValueError("lrlcall_id is not one of the paper's models")
    return family, place, bool(dependent)


def paper_row(name: str) -> str:
    """The paper's table row for a model name, e.g. lrlc3_id -> 'LRLC (3RD LAYER & INPUT
    DEPENDENT WEIGHTS)'."""
    if name in _WHOLE:
        return _WHOLE[name][1]
    family, place, dependent = _parse(name)
    label = _ORDINAL[place] + (" & INPUT DEPENDENT WEIGHTS" if dependent else "")
    return f"{get_kind(family).label} ({label})"


def layer_kinds(name: str) -> list[str]:
    """The kind of each of the three layers, e.g. lrlc3 -> ['conv', 'conv', 'lrlc']."""
    if name in _WHOLE:
        return list(_WHOLE[name][0])
    family, place, dependent = _parse(name)
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


def layer_name(depth: int) -> str:
    """The module name of the spatial layer at `depth` (1-based) in a PaperNet's state dict.

    `features` holds [layer, BatchNorm, ReLU] per depth, so depth d is `features.{3(d-1)}`.
    """
    return f"features.{3 * (depth - 1)}"


def depth_of(module_name: str) -> int | None:
    """The depth (1-based) of a spatial layer from its module or parameter name
    ('features.6' or 'features.6.omega_1' -> 3), or None if it names no spatial layer."""
    parts = module_name.split(".")
    if len(parts) < 2 or parts[0] != "features" or not parts[1].isdigit():
        return None
    index = int(parts[1])
    return index // 3 + 1 if index % 3 == 0 else None


class PaperNet(nn.Module):
    """(N, C, H, W) -> logits (N, num_classes)."""

    def __init__(
        self,
        kinds: Sequence[str],
        input_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        width: int = 64,
        rank: int = 1,
        flatten_head: bool = False,
        layer_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        c, h, w = input_shape
        layers: list[nn.Module] = []
        for depth, name in enumerate(kinds):
            kind = get_kind(name)
            last = depth == len(kinds) - 1
            c_out = wide_width(rank, c, width, last) if name == "wide" else width
            options = kind.make_options(layer_kwargs or {})
            layers.append(kind.build(c, c_out, (h, w), rank, options))
            layers.append(nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.1))
            layers.append(nn.ReLU(inplace=True))
            c, h, w = c_out, h - 2, w - 2
        self.features = nn.Sequential(*layers)
        self.flatten_head = flatten_head
        self.pool = nn.Identity() if flatten_head else GlobalAvgPool2d()
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

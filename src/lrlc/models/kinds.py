"""Layer kinds of the paper's networks: one registry entry per kind, with typed options.

A kind builds the layer at one depth of a network (a convolution, an LRLC layer, a locally
connected layer, ...). A kind with options declares them as a frozen dataclass; each field is
one command-line flag (`--omega-1` for `omega_1`), and an option reaches only the kinds that
declare it. Adding a kind is one `register(LayerKind(...))` call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..functional import NORMALIZATIONS
from ..layers import (
    CoordConv2d,
    LocallyConnected2d,
    LowRankLocallyConnected2d,
    NonStationaryConv2d,
    SpatialBias,
)
from ..layers.combining import COMBINING_MODES, INITS
from ..layers.nonstationary import OMEGA_1_INIT

Pair = tuple[int, int]


def _option(default: Any, help: str, choices: tuple | None = None) -> Any:
    """A dataclass field that is also a command-line flag (its help and choices)."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class NoOptions:
    """A kind without options."""


@dataclass(frozen=True)
class LRLCOptions:
    """Options of the fixed-weight LRLC layers (the input-dependent kind fixes `combining`)."""

    combining: str = _option(
        "factorized", "LRLC combining weights (Eq. 3 factorised, or per row, column, position)",
        tuple(m for m in COMBINING_MODES if m != "input_dependent"),
    )  # fmt: skip
    normalize: str = _option("softmax", "LRLC combining-weight normalisation", NORMALIZATIONS)
    init: str = _option("conv", "LRLC combining-weight init (conv: starts as a convolution)", INITS)


@dataclass(frozen=True)
class InputDependentOptions:
    """Options of the input-dependent LRLC layers."""

    normalize: str = _option("softmax", "LRLC combining-weight normalisation", NORMALIZATIONS)


@dataclass(frozen=True)
class NonStationaryOptions:
    """Options of the non-stationary continuous-filter layers."""

    omega_1: float = _option(
        OMEGA_1_INIT, "non-stationary layers: initial omega_1 (0 is a convolution)"
    )
    learn_omega_1: bool = _option(True, "non-stationary layers: learn omega_1 (else keep it)")


Builder = Callable[[int, int, Pair, int, Any], nn.Module]


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer: how to build it at one depth, and the options it takes.

    `build(c_in, c_out, input_size, rank, options)` returns the layer; its channel bias is
    off, as BatchNorm follows every layer in the paper's nets (as in the authors' code).
    """

    name: str
    label: str  # the paper's row label of a model with this kind
    build: Builder
    options: type = NoOptions
    uses_rank: bool = False  # whether the model's rank changes this kind

    def make_options(self, given: Mapping[str, Any]) -> Any:
        """This kind's options from the given values, keeping only the fields it declares."""
        names = {f.name for f in dataclasses.fields(self.options)}
        return self.options(**{k: v for k, v in given.items() if k in names})

    def option_names(self) -> set[str]:
        return {f.name for f in dataclasses.fields(self.options)}


LAYER_KINDS: dict[str, LayerKind] = {}


def register(kind: LayerKind) -> LayerKind:
    if kind.name in LAYER_KINDS:
        raise ValueError(f"layer kind {kind.name!r} is already registered")
    LAYER_KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> LayerKind:
    if name not in LAYER_KINDS:
        raise ValueError(f"unknown layer kind {name!r}; known: {', '.join(LAYER_KINDS)}")
    return LAYER_KINDS[name]


def he_uniform_(conv: nn.Conv2d) -> nn.Conv2d:
    """Re-draw a convolution's kernel He-uniform on fan_in, as the LRLC bases and LC filters.

    The authors give every layer kind the same kernel initializer; PyTorch's default conv init
    is sqrt(6) times narrower, which under Adam changes how fast a layer learns, so the
    convolution baselines would differ from a rank-1 LRLC by their init alone.
    """
    nn.init.kaiming_uniform_(conv.weight, a=0.0)
    return conv


def _conv(c_in: int, c_out: int, size: Pair, rank: int, options: Any) -> nn.Module:
    return he_uniform_(nn.Conv2d(c_in, c_out, 3, bias=False))


def _coordconv(c_in: int, c_out: int, size: Pair, rank: int, options: Any) -> nn.Module:
    layer = CoordConv2d(c_in, c_out, 3, bias=False)
    he_uniform_(layer.conv)
    return layer


def _conv_sb(c_in: int, c_out: int, size: Pair, rank: int, options: Any) -> nn.Module:
    conv = he_uniform_(nn.Conv2d(c_in, c_out, 3, bias=False))
    return nn.Sequential(conv, SpatialBias((size[0] - 2, size[1] - 2)))


def _lrlc(c_in: int, c_out: int, size: Pair, rank: int, options: LRLCOptions) -> nn.Module:
    return LowRankLocallyConnected2d(
        c_in, c_out, 3, input_size=size, rank=rank, bias=False, **dataclasses.asdict(options)
    )


def _lrlc_id(
    c_in: int, c_out: int, size: Pair, rank: int, options: InputDependentOptions
) -> nn.Module:
    return LowRankLocallyConnected2d(
        c_in, c_out, 3, input_size=size, rank=rank, bias=False, combining="input_dependent",
        normalize=options.normalize,
    )  # fmt: skip


def _lc(c_in: int, c_out: int, size: Pair, rank: int, options: Any) -> nn.Module:
    return LocallyConnected2d(c_in, c_out, 3, input_size=size, bias=True)


def _ns(c_in: int, c_out: int, size: Pair, rank: int, options: NonStationaryOptions) -> nn.Module:
    return NonStationaryConv2d(
        c_in, c_out, 3, input_size=size, bias=False, **dataclasses.asdict(options)
    )


register(LayerKind("conv", "CONVOLUTION", _conv))
# The wide convolution's width is set by the network from the rank (wide_width).
register(LayerKind("wide", "WIDE CONVOLUTION", _conv, uses_rank=True))
register(LayerKind("coordconv", "COORDCONV", _coordconv))
register(LayerKind("conv_sb", "CONVOLUTION + SPATIAL BIAS", _conv_sb))
register(LayerKind("lrlc", "LRLC", _lrlc, LRLCOptions, uses_rank=True))
register(LayerKind("lrlc_id", "LRLC", _lrlc_id, InputDependentOptions, uses_rank=True))
register(LayerKind("lc", "LOCALLY CONNECTED", _lc))
register(LayerKind("ns", "NON-STATIONARY FILTERS", _ns, NonStationaryOptions))


def option_fields() -> dict[str, dataclasses.Field]:
    """Every layer option of every kind, by name (one command-line flag each)."""
    out: dict[str, dataclasses.Field] = {}
    for kind in LAYER_KINDS.values():
        for f in dataclasses.fields(kind.options):
            out.setdefault(f.name, f)
    return out


def check_options(kinds: list[str], given: Mapping[str, Any], model: str) -> None:
    """A ValueError naming the option and the kinds that take it, for an option that none of
    `kinds` (the layer kinds of `model`) declares."""
    present = [get_kind(k) for k in dict.fromkeys(kinds)]
    for name in given:
        if any(name in k.option_names() for k in present):
            continue
        takers = [k.name for k in LAYER_KINDS.values() if name in k.option_names()]
        if not takers:
            raise ValueError(f"unknown layer option {name!r}; known: {', '.join(option_fields())}")
        flag = "--" + name.replace("_", "-")
        own = sorted({o for k in present for o in k.option_names()})
        raise ValueError(
            f"{flag} applies to {' and '.join(takers)} layers, and model {model} has "
            f"{', '.join(k.name for k in present)} layers"
            + (f" (their options: {', '.join('--' + o.replace('_', '-') for o in own)})"
               if own else " (no layer options)")
            + f"; leave {flag} out or choose a model with such a layer"
        )  # fmt: skip


def options_for(kinds: list[str], given: Mapping[str, Any]) -> dict[str, Any]:
    """The options in `given` that at least one of `kinds` takes (a sweep's shared options,
    cut down to one model's layers so that they do not change the identity of the others)."""
    takes = set().union(*(get_kind(k).option_names() for k in kinds))
    return {k: v for k, v in given.items() if k in takes}

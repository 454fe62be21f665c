"""Layers that relax spatial invariance: LRLC, locally connected, CoordConv, spatial bias."""

from . import functional
from .bias import SpatialBias
from .combining import (
    COMBINING_MODES,
    ColumnLogits,
    FactorizedLogits,
    FullLogits,
    InputDependentLogits,
    RowLogits,
)
from .coord import CoordConv2d
from .local import LocallyConnected2d
from .lrlc import LowRankLocallyConnected2d
from .nonstationary import NonStationaryConv2d

__all__ = [
    "COMBINING_MODES",
    "ColumnLogits",
    "CoordConv2d",
    "FactorizedLogits",
    "FullLogits",
    "InputDependentLogits",
    "LocallyConnected2d",
    "LowRankLocallyConnected2d",
    "NonStationaryConv2d",
    "RowLogits",
    "SpatialBias",
    "functional",
]

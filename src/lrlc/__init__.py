"""lrlc: low-rank locally connected layers and an experiment harness for relaxing spatial
invariance (Elsayed et al., ICML 2020)."""

from .layers import (
    CoordConv2d,
    LocallyConnected2d,
    LowRankLocallyConnected2d,
    NonStationaryConv2d,
    SpatialBias,
)

__version__ = "0.1.0"

__all__ = [
    "CoordConv2d",
    "LocallyConnected2d",
    "LowRankLocallyConnected2d",
    "NonStationaryConv2d",
    "SpatialBias",
]

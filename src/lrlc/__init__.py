"""lrlc: low-rank locally connected layers and an experiment harness for relaxing spatial
invariance (Elsayed et al., ICML 2020).

The library: `lrlc.layers` (modules), `lrlc.functional` (the paper's equations as functions),
`lrlc.models` (the paper's networks and their layer kinds), `lrlc.inference` (LRLC -> exact
locally connected layers, `export_inference`), `lrlc.lrlcify` (LRLC layers in any network),
`lrlc.export` (ONNX and `torch.export`), `lrlc.data` (datasets), `lrlc.analysis` (parameter
and FLOP counts).
The harness behind the `lrlc` command: `lrlc.experiments`.
"""

from . import _compat, functional
from .export import export_onnx, export_program
from .inference import convert_model, export_inference
from .layers import (
    CoordConv2d,
    LocallyConnected2d,
    LowRankLocallyConnected2d,
    NonStationaryConv2d,
    SpatialBias,
)
from .lrlcify import lrlcify

__version__ = "0.2.0"

_compat.install()  # lrlc 0.1 module paths (lrlc.train, lrlc.sweep, ...) for one release

__all__ = [
    "CoordConv2d",
    "LocallyConnected2d",
    "LowRankLocallyConnected2d",
    "NonStationaryConv2d",
    "SpatialBias",
    "convert_model",
    "export_inference",
    "export_onnx",
    "export_program",
    "functional",
    "lrlcify",
]

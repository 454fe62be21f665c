"""Networks built from the layers: the paper's 3-layer nets and the layer kinds they place,
ResNets with LRLC layers (`lrlc.models.resnet`, needs torchvision), and the registry of model
names the harness trains (`lrlc.models.registry`)."""

from __future__ import annotations

import warnings

from .kinds import LAYER_KINDS, LayerKind, he_uniform_, register
from .paper_net import PaperNet, depth_of, layer_name
from .registry import FAMILIES, build_model, layer_kinds, model_names, paper_row, uses_rank
from .resnet import resnet

__all__ = [
    "FAMILIES",
    "LAYER_KINDS",
    "LayerKind",
    "PaperNet",
    "build_model",
    "depth_of",
    "he_uniform_",
    "layer_kinds",
    "layer_name",
    "model_names",
    "paper_row",
    "register",
    "resnet",
    "uses_rank",
]


def __getattr__(name: str):
    # SimpleNet was the name of PaperNet until 0.2; kept for one release.
    if name == "SimpleNet":
        warnings.warn(
            "lrlc.models.SimpleNet is now lrlc.models.PaperNet", DeprecationWarning, stacklevel=2
        )
        return PaperNet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

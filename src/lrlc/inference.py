"""Inference form of a network: each fixed-weight LRLC layer becomes the exact
`LocallyConnected2d` it equals (the paper's section 3.2.1: at inference the LC layer costs one
convolution's multiply-adds, where Algorithm 1 costs K). Works on any `nn.Module`."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from torch import nn

from .layers import LowRankLocallyConnected2d


@dataclass
class Conversion:
    """What `convert_model_layers` did: the LRLC layers it found, by module name."""

    converted: list[str] = field(default_factory=list)
    #: name -> why the layer stays an LRLC layer (input-dependent ones have no LC equivalent)
    kept: dict[str, str] = field(default_factory=dict)
    input_dependent: list[str] = field(default_factory=list)
    model: nn.Module | None = None  # the converted copy

    @property
    def lrlc_layers(self) -> int:
        return len(self.converted) + len(self.kept)

    def found(self) -> str:
        """E.g. '3 LRLC layer(s): 2 fixed, 1 input-dependent'."""
        if not self.lrlc_layers:
            return "no LRLC layers"
        fixed = self.lrlc_layers - len(self.input_dependent)
        return (
            f"{self.lrlc_layers} LRLC layer(s): {fixed} fixed, "
            f"{len(self.input_dependent)} input-dependent"
        )

    def kept_text(self) -> str:
        """One clause per kept layer, e.g. 'features.0 (input-dependent combining ...)'."""
        return "; ".join(f"{name} ({why})" for name, why in self.kept.items())


def convert_model_layers(model: nn.Module) -> tuple[nn.Module, Conversion]:
    """A copy of `model` with each fixed-combining LRLC layer replaced by its LC equivalent,
    and which layers were converted and which were kept (and why).

    Input-dependent layers stay as they are: their weights change with every input.
    """
    model = copy.deepcopy(model)
    done = Conversion()
    for name, child in list(model.named_modules()):
        if not isinstance(child, LowRankLocallyConnected2d):
            continue
        if child.input_dependent:
            done.input_dependent.append(name)
            done.kept[name] = (
                "input-dependent: its combining weights change with every input, so it has no "
                "fixed locally connected equivalent"
            )
            continue
        try:
            lc = child.to_locally_connected()
        except ValueError as err:
            done.kept[name] = str(err)
            continue
        parent, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent), attr, lc)
        done.converted.append(name)
    done.model = model
    return model, done


def convert_model(model: nn.Module) -> tuple[nn.Module, int]:
    """A copy of `model` with each fixed-combining LRLC layer replaced by its LC equivalent.

    Input-dependent layers stay as they are (their weights change with every input). Returns
    the copy and the number of layers converted; `convert_model_layers` says which.
    """
    model, done = convert_model_layers(model)
    return model, len(done.converted)


def export_inference(model: nn.Module) -> Conversion:
    """A copy of `model` (`.model`) in which every LRLC layer with fixed combining weights is its
    exact `LocallyConnected2d` (one multiply-add per weight at inference, where the LRLC layer
    does K); input-dependent layers are kept, with why, in `.kept`. `model` is not modified."""
    return convert_model_layers(model)[1]


InferenceExport = Conversion  # what export_inference returns

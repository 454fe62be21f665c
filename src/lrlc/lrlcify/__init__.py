"""LRLC in any network: `lrlcify` replaces chosen `nn.Conv2d` modules with LRLC layers that
start as exactly the convolutions they replace; `export_inference` turns the trained network's
fixed-weight LRLC layers into their exact `LocallyConnected2d` (it lives in `lrlc.inference`).

The starting point. ``init="conv"`` starts the combining weights at one constant w, so a
layer's filter bank is ``w * sum_k F^k`` at every position. The bases are ``F^k = F/s + d_k``
with ``s = K w`` (1 for softmax, sqrt(K) for "norm" and "none") and ``sum_k d_k = 0``, so the
filter bank is the convolution's F exactly, whatever the d_k. The d_k are needed: with
identical bases every basis and every logit gets the same gradient (under softmax
``dL/dlogit_k`` is ``w <G, I * d_k>``), so training never separates them. `perturbation` is the
rms of each d_k relative to the std of ``F/s``. It leaves the starting function alone and sets
how strongly the output first responds to the combining weights: the default 1e-2 is 1% of a
freshly initialised LRLC layer's response (fine-tuning starts close to fine-tuning the
convolution) and five orders of magnitude above float32 rounding; Adam moves the logits at its
learning rate from the first step whatever the gradient's scale.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ..functional import normalize_combining
from ..layers import LowRankLocallyConnected2d
from ._adapters import PADDING_RULES, conv_forward_padding, register_padding_rule
from ._trace import (
    Conv,
    LastSpatial,
    Select,
    convolutions,
    last_spatial,
    run,
    select_convs,
    trace,
    unsupported,
)

DEFAULT_PERTURBATION = 1e-2
GEOMETRY = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation")
#: Arguments of `LowRankLocallyConnected2d` that `lrlcify` takes from each convolution.
FROM_CONV = (*GEOMETRY, "input_size", "bias")


@dataclass
class LrlcifyResult:
    """What `lrlcify` did: the converted `model` (a copy unless ``inplace=True``); `converted`,
    qualified name -> the (H, W) input size of its LRLC layer; `skipped`, name -> why that
    selected convolution stayed one (``skip_unsupported=True``); `max_abs_error`, the largest
    |converted - original| output on `example_input` in eval mode (float rounding; None with
    ``check=False`` or no floating-point output)."""

    model: nn.Module
    converted: dict[str, tuple[int, int]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    max_abs_error: float | None = None

    def summary(self) -> str:
        """E.g. 'converted 2 convolution(s) to LRLC: a (28, 28), b (14, 14); skipped 1: ...'."""
        text = f"converted {len(self.converted)} convolution(s) to LRLC: " + ", ".join(
            f"{n} {s}" for n, s in self.converted.items()
        )
        skipped = "; ".join(f"{n} ({why})" for n, why in self.skipped.items())
        text += f"; skipped {len(self.skipped)}: {skipped}" if skipped else ""
        error = self.max_abs_error
        return text + ("" if error is None else f"; max |difference| on the example: {error:.3g}")


def lrlcify(
    model: nn.Module,
    example_input: Any,
    *,
    select: Select,
    rank: int,
    perturbation: float = DEFAULT_PERTURBATION,
    skip_unsupported: bool = False,
    inplace: bool = False,
    check: bool = True,
    generator: torch.Generator | None = None,
    **lrlc_options: Any,
) -> LrlcifyResult:
    """Replace the selected `nn.Conv2d` modules of `model` with rank-`rank` LRLC layers that
    compute exactly what the convolutions did; returns an `LrlcifyResult`.

    Args:
        model: any `nn.Module`; copied first unless ``inplace=True`` (the original is then not
            modified, not even its training mode).
        example_input: a tensor, a tuple of positional arguments or a dict of keyword
            arguments. One forward pass on it (eval mode, no grad; every module's training
            mode is restored) gives each convolution's input size. Other batch sizes work
            afterwards, other image sizes do not.
        select: glob pattern(s) matched by `fnmatch.fnmatchcase` on qualified module names
            (``*`` also crosses dots: ``"layer4.*.conv2"``; a pattern matching no convolution
            is an error), a predicate ``(name, module) -> bool`` called on every `nn.Conv2d`,
            or `last_spatial(n)`. Selecting nothing is an error listing the convolutions.
        rank: K, the number of bases of each new layer.
        perturbation: rms of each basis' deviation d_k, relative to the std of its starting
            weight (module docstring); 0 gives identical bases, which training cannot separate.
        skip_unsupported: leave selected convolutions that cannot be converted (grouped,
            padding_mode other than "zeros", a subclass with its own forward, hooks of its own,
            never called, or called at several input sizes) and list them in `skipped`, rather
            than raise one ValueError naming them all.
        check: record how far the converted output on `example_input` is from the original.
        generator: draws the perturbations (default: torch's global random generator).
        **lrlc_options: `combining`, `normalize`, `spatial_bias` and `init` (only "conv") of
            `LowRankLocallyConnected2d`. Input-dependent combining starts with its last
            projection at zero weight and a constant bias, so it too starts with equal weights.

    Each layer has the convolution's device, dtype, training mode and channel bias (none if it
    had none); its row and column biases start at zero; a frozen convolution gives a frozen
    layer. A convolution registered under several names is one LRLC layer under all of them.
    """
    options = _checked_options(rank, perturbation, lrlc_options)
    if not inplace:
        model = copy.deepcopy(model)
    convs = convolutions(model)
    reference = trace(model, example_input, convs)
    chosen = select_convs(select, convs)

    layers: dict[str, tuple[Conv, LowRankLocallyConnected2d]] = {}
    refused: dict[str, str] = {}
    for conv in chosen:
        why = unsupported(conv)
        if why is None:
            try:
                layers[conv.name] = (conv, _build(conv, rank, perturbation, generator, options))
                continue
            except ValueError as err:
                why = str(err)
        refused[conv.name] = why
    if refused and not skip_unsupported:
        raise ValueError(
            f"lrlcify cannot convert {len(refused)} of the {len(chosen)} selected "
            "convolution(s):\n"
            + "\n".join(f"  {name}: {why}" for name, why in refused.items())
            + "\nPass skip_unsupported=True to leave them as convolutions, or narrow `select`."
        )
    if not layers:
        raise ValueError(
            f"none of the {len(chosen)} selected convolution(s) can be converted: "
            + "; ".join(f"{name} ({why})" for name, why in refused.items())
        )

    for conv, layer in layers.values():
        for alias in conv.aliases:
            parent, _, attr = alias.rpartition(".")
            if alias:
                setattr(model.get_submodule(parent), attr, layer)
            else:  # the model is the convolution itself
                model = layer
    converted = {name: layer.input_size for name, (_, layer) in layers.items()}
    result = LrlcifyResult(model, converted, refused)
    if check:
        result.max_abs_error = _difference(reference, run(model, example_input))
    return result


def _checked_options(rank: int, perturbation: float, options: dict[str, Any]) -> dict[str, Any]:
    """The LRLC options, validated once on a tiny layer so that a bad one is one error."""
    taken = sorted(set(options) & set(FROM_CONV))
    if taken:
        raise ValueError(f"lrlcify takes {', '.join(taken)} from each convolution: do not pass")
    if options.get("init", "conv") != "conv":
        raise ValueError(
            "lrlcify starts each layer as its convolution, which needs init='conv', got "
            f"init={options['init']!r}"
        )
    number = isinstance(perturbation, (int, float)) and not isinstance(perturbation, bool)
    if not (number and math.isfinite(perturbation) and perturbation >= 0):
        raise ValueError(f"perturbation must be a finite number >= 0, got {perturbation!r}")
    LowRankLocallyConnected2d(1, 1, 1, input_size=(1, 1), rank=rank, **options)
    return dict(options)


def _build(
    conv: Conv, rank: int, perturbation: float, generator: torch.Generator | None, options: dict
) -> LowRankLocallyConnected2d:
    """The LRLC layer that computes what `conv` computes (the module docstring's bases)."""
    m = conv.module
    weight = m.weight.detach()
    geometry = {key: getattr(m, key) for key in GEOMETRY}
    geometry["padding"] = conv_forward_padding(m)
    size, seen = conv.inputs[0][-2:], conv.outputs[0][-2:]  # type: ignore[index]
    bias = m.bias is not None
    layer = LowRankLocallyConnected2d(**geometry, input_size=size, rank=rank, bias=bias, **options)
    if tuple(layer.output_size) != tuple(seen):
        raise ValueError(f"its output is {seen}; an LRLC layer like it gives {layer.output_size}")
    layer.to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        total = _uniform_start(layer)
        bases = _bases(weight, layer.rank, total, perturbation, generator)
        param = layer.basis.weights[0]  # one geometry: the K bases as one (K * out) conv
        param.copy_(bases.reshape(param.shape))
        if not torch.equal(layer.basis_filters(), bases):
            raise RuntimeError("lrlcify: unexpected LRLC basis layout; lrlcify needs updating")
        if m.bias is not None:
            layer.bias.copy_(m.bias)
    layer.train(m.training)
    if not m.weight.requires_grad:
        layer.requires_grad_(False)
    return layer


def _uniform_start(layer: LowRankLocallyConnected2d) -> float:
    """Make the starting combining weights one constant w for every basis and position and
    return s = K * w (the sum over k, as the layer computes it)."""
    rank = layer.rank
    if layer.input_dependent:
        project = getattr(layer.combiner, "project", None)
        if not isinstance(project, nn.Conv2d) or project.bias is None:
            raise RuntimeError("lrlcify: unexpected input-dependent combining network")
        logit = 1.0 / math.sqrt(rank)
        project.weight.zero_()  # the logits are then the bias, whatever the input
        project.bias.fill_(logit)
        logits = torch.full((rank, 1, 1), logit, dtype=project.bias.dtype)
        weights = normalize_combining(logits, layer.normalize, dim=0)
    else:
        weights = layer.combining_weights()
    weights = weights.detach().double()
    spread = float(weights.max() - weights.min())
    if spread > 1e-6 * float(weights.abs().max()) or float(weights.abs().max()) == 0:
        raise RuntimeError("lrlcify: the LRLC layer does not start with equal combining weights")
    return float(weights.reshape(rank, -1)[:, 0].sum())


def _bases(
    weight: Tensor, rank: int, total: float, perturbation: float, generator: torch.Generator | None
) -> Tensor:
    """F^k = F / s + d_k with sum_k d_k = 0 and rms(d_k) = perturbation * std(F / s):
    (K, C_out, C_in, kh, kw) in the weight's dtype and device."""
    start = weight.double() / total
    bases = start.unsqueeze(0).repeat(rank, *([1] * start.dim()))
    if rank > 1 and perturbation > 0:
        z = torch.randn((rank, *weight.shape), generator=generator, dtype=torch.float64)
        z = (z - z.mean(dim=0, keepdim=True)) * math.sqrt(rank / (rank - 1))
        scale = float(start.std(unbiased=False))
        if not scale > 0:  # an all-zero (or constant) weight: He initialisation's scale
            scale = math.sqrt(2.0 / max(1, weight[0].numel())) / total
        bases = bases + perturbation * scale * z.to(start.device)
    return bases.to(weight.dtype)


def _difference(a: Any, b: Any) -> float | None:
    """Largest absolute difference between the floating-point tensors of two outputs."""
    pairs = [(x, y) for x, y in zip(_tensors(a), _tensors(b)) if x.is_floating_point()]
    diffs = [float((x - y).abs().max()) for x, y in pairs if x.shape == y.shape and x.numel()]
    return max(diffs) if diffs else None


def _tensors(out: Any) -> list[Tensor]:
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in _tensors(v)]
    return [out] if isinstance(out, Tensor) else []


__all__ = [
    "DEFAULT_PERTURBATION",
    "PADDING_RULES",
    "LastSpatial",
    "LrlcifyResult",
    "Select",
    "last_spatial",
    "lrlcify",
    "register_padding_rule",
]

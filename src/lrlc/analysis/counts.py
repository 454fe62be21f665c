"""Parameter and MAC/FLOP counts per layer and per model (the paper's section 3.2.1).

Conventions:

- Counts are for ONE example and the forward pass only (backward costs about twice as much).
- A multiply-accumulate (MAC) is one multiply and one add. A lone add (bias, pooling sum) or a
  lone multiply also counts as one MAC, an upper bound as in ptflops/thop. FLOPs = 2 * MACs.
- Nonlinearities (ReLU, sigmoid, softmax), concatenation, padding and the combining weights of
  the fixed modes (computed once per batch, not per example) count zero. BatchNorm2d counts
  one MAC per element (scale and shift; batch statistics are not counted).
- Params = trainable parameters (``requires_grad``).
- Training FLOPs of an LRLC layer follow the paper's Algorithm 1: the K * C_out-channel basis
  convolution, K MACs per output element to combine, one add per element for the bias, and for
  input-dependent weights the network g (1x1 convs, global mean, depthwise dilated convs,
  bilinear resizes at 4 MACs per output element). Inference FLOPs of a fixed-combining LRLC
  layer are those of its ``to_locally_connected()`` conversion: the multiply-adds of a
  convolution plus a bias add. Other layers have equal training and inference FLOPs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import torch
from torch import nn

from ..layers import CoordConv2d, LocallyConnected2d, LowRankLocallyConnected2d, SpatialBias
from ..layers.combining import InputDependentLogits

Shape = tuple[int, ...]  # per-example shape, without the batch axis: (C, H, W) or (F,)


@dataclass
class LayerCount:
    """One row: params and MACs of one layer (FLOPs = 2 * MACs). MACs are None when the
    layer's kind is unknown to this module."""

    name: str
    kind: str
    params: int
    train_macs: int | None
    infer_macs: int | None
    infer_params: int | None = None  # after conversion (LRLC -> LC); None = same as params

    @property
    def train_flops(self) -> int | None:
        return None if self.train_macs is None else 2 * self.train_macs

    @property
    def infer_flops(self) -> int | None:
        return None if self.infer_macs is None else 2 * self.infer_macs

    def as_dict(self) -> dict[str, object]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        return d | {"train_flops": self.train_flops, "infer_flops": self.infer_flops}


@dataclass
class ModelCount:
    """The rows of a model's counted layers and their sum."""

    rows: list[LayerCount] = field(default_factory=list)

    @property
    def total(self) -> LayerCount:
        """Sums; MACs of unknown layers (None) count as 0, see `unknown`."""

        def add(key: str) -> int:
            return sum(getattr(r, key) or 0 for r in self.rows)

        infer = sum(r.params if r.infer_params is None else r.infer_params for r in self.rows)
        return LayerCount("total", "", add("params"), add("train_macs"), add("infer_macs"), infer)

    @property
    def unknown(self) -> list[str]:
        """Names of layers whose MACs could not be counted."""
        return [r.name for r in self.rows if r.train_macs is None]

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def n_params(module: nn.Module) -> int:
    """Trainable parameter count."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def conv2d_macs(
    c_in: int, c_out: int, kernel: Sequence[int], out_hw: Sequence[int], groups: int = 1
) -> int:
    """MACs of a 2-D cross-correlation, bias excluded: H_out*W_out*C_out*(C_in/groups)*kh*kw."""
    return math.prod(out_hw) * c_out * (c_in // groups) * math.prod(kernel)


def _conv_out_hw(conv: nn.Conv2d, in_hw: Sequence[int]) -> tuple[int, int]:
    """Output (H, W) of an `nn.Conv2d` with int padding, from its attributes."""
    if isinstance(conv.padding, str):
        if conv.padding == "same":
            return tuple(in_hw)  # type: ignore[return-value]
        pad = (0, 0)
    else:
        pad = conv.padding
    return tuple(  # type: ignore[return-value]
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, p, d, k, s in zip(in_hw, pad, conv.dilation, conv.kernel_size, conv.stride)
    )


def _conv_macs(conv: nn.Conv2d, out_hw: Sequence[int]) -> int:
    bias = math.prod(out_hw) * conv.out_channels if conv.bias is not None else 0
    return (
        conv2d_macs(conv.in_channels, conv.out_channels, conv.kernel_size, out_hw, conv.groups)
        + bias
    )


def _g_macs(g: InputDependentLogits, in_channels: int) -> int:
    """MACs of the input-dependent combining network g (the paper's Supp. B)."""
    k, in_hw, out_hw = g.rank, g.input_size, g.output_size
    out_px = math.prod(out_hw)

    def resize(hw: Sequence[int]) -> int:
        # Bilinear: a weighted sum of 4 neighbours per output element; skipped at equal size.
        return 0 if tuple(hw) == tuple(out_hw) else 4 * k * out_px

    macs = _conv_macs(g.reduce, in_hw)
    macs += k * math.prod(in_hw)  # global mean of x_lowd
    macs += resize(in_hw)  # x_lowd itself
    for branch in g.branches:
        hw = _conv_out_hw(branch, in_hw)
        macs += _conv_macs(branch, hw) + resize(hw)
    for conv in (g.squeeze, g.excite, g.project):
        macs += _conv_macs(conv, out_hw)
    return macs


def lrlc_macs(layer: LowRankLocallyConnected2d) -> dict[str, int]:
    """MACs of an LRLC layer by part: "basis", "combine", "bias", "g" (0 unless
    input-dependent), "train" (their sum) and "lc" (after `to_locally_connected()`)."""
    out_hw = layer.output_size
    out_px = math.prod(out_hw)
    c_in, c_out, k = layer.in_channels, layer.out_channels, layer.rank
    basis = layer.basis
    # Each geometry group is one convolution with its own (smaller) kernel, as BasisSet runs it.
    parts = {
        "basis": sum(
            conv2d_macs(c_in, len(m) * c_out, geo[0], out_hw)
            for m, geo in zip(basis.members, basis.groups)
        ),
        "combine": k * c_out * out_px,
        "bias": c_out * out_px if layer._has_bias() else 0,
        "g": _g_macs(layer.combiner, c_in) if layer.input_dependent else 0,
    }
    parts["train"] = sum(parts.values())
    # The converted layer uses the common (embedded) kernel and always has a bias.
    parts["lc"] = conv2d_macs(c_in, c_out, basis.kernel_size, out_hw) + c_out * out_px
    return parts


def _lc_params(layer: LowRankLocallyConnected2d) -> int:
    out_px = math.prod(layer.output_size)
    weight = out_px * layer.out_channels * layer.in_channels * math.prod(layer.kernel_size)
    return weight + layer.out_channels * out_px


def count_layer(name: str, module: nn.Module, in_shape: Shape, out_shape: Shape) -> LayerCount:
    """Params and MACs of one layer, given its per-example input and output shapes."""
    params = n_params(module)
    if isinstance(module, LowRankLocallyConnected2d):
        parts = lrlc_macs(module)
        if module.input_dependent:  # no fixed LC equivalent: inference runs Algorithm 1
            return LayerCount(name, "lrlc_id", params, parts["train"], parts["train"])
        return LayerCount(
            name, "lrlc", params, parts["train"], parts["lc"], infer_params=_lc_params(module)
        )
    macs: int | None
    if isinstance(module, CoordConv2d):
        kind, macs = "coordconv", _conv_macs(module.conv, out_shape[1:])
    elif isinstance(module, nn.Conv2d):
        kind, macs = "conv", _conv_macs(module, out_shape[1:])
    elif isinstance(module, LocallyConnected2d):
        h, w, c_out = module.weight.shape[:3]
        kind = "lc"
        macs = conv2d_macs(module.in_channels, c_out, module.kernel_size, (h, w))
        macs += 0 if module.bias is None else module.bias.numel()
    elif isinstance(module, SpatialBias):
        none = module.bias_row is None and module.bias_col is None
        kind, macs = "spatial_bias", 0 if none else math.prod(out_shape)
    elif isinstance(module, nn.BatchNorm2d):
        kind, macs = "batchnorm", math.prod(out_shape)
    elif isinstance(module, nn.Linear):
        rows = math.prod(in_shape[:-1])
        bias = module.out_features if module.bias is not None else 0
        kind, macs = "linear", rows * (module.in_features * module.out_features + bias)
    elif isinstance(module, (nn.AdaptiveAvgPool2d, nn.AvgPool2d)):
        kind, macs = "avgpool", math.prod(in_shape)  # one add per input element
    elif isinstance(module, (nn.ReLU, nn.Identity, nn.Flatten, nn.Dropout, nn.MaxPool2d)):
        # comparisons (max pooling) count zero, as nonlinearities do
        kind, macs = type(module).__name__.lower(), 0
    else:
        kind, macs = type(module).__name__, None
    return LayerCount(name, kind, params, macs, macs)


_COUNTED = (
    LowRankLocallyConnected2d,
    CoordConv2d,
    nn.Conv2d,
    LocallyConnected2d,
    SpatialBias,
    nn.BatchNorm2d,
    nn.Linear,
    nn.AdaptiveAvgPool2d,
    nn.AvgPool2d,
)


def count_model(model: nn.Module, input_shape: Sequence[int]) -> ModelCount:
    """Rows for every counted layer of `model` (in forward order) and their total.

    One dummy forward of a single example (in eval mode, without grad) records each layer's
    input and output shape with forward hooks. Counted layers are not entered (an LRLC layer's
    basis and g are part of its row); containers are. A parameter-free layer of zero MACs
    (ReLU, Identity) gets no row; an unknown layer with parameters gets a row with MACs None.
    A module called more than once per forward is counted once, with its first shapes.
    """
    shapes: dict[str, tuple[Shape, Shape]] = {}
    order: list[str] = []  # pre-order (a layer before its parts), from forward pre-hooks

    def pre_hook(name: str):
        def record(mod: nn.Module, args: tuple) -> None:
            if name not in order:
                order.append(name)

        return record

    def hook(name: str):
        def record(mod: nn.Module, args: tuple, out: object) -> None:
            if name not in shapes and args and isinstance(out, torch.Tensor):
                shapes[name] = (tuple(args[0].shape[1:]), tuple(out.shape[1:]))

        return record

    modules = dict(model.named_modules())
    handles = []
    for n, m in modules.items():
        if n:
            handles += [m.register_forward_pre_hook(pre_hook(n)), m.register_forward_hook(hook(n))]
    was_training = model.training
    try:
        model.eval()
        like = next(model.parameters(), torch.empty(0))
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, dtype=like.dtype, device=like.device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    rows: list[LayerCount] = []
    inside: str | None = None  # prefix of the counted layer whose parts we are passing
    for name in order:
        if inside is not None and name.startswith(inside):
            continue
        module = modules[name]
        own_params = any(True for _ in module.parameters(recurse=False))
        if not isinstance(module, _COUNTED) and not own_params and name in shapes:
            if any(True for _ in module.children()):
                continue  # a container or a wrapper: its parts come next
        inside = name + "."
        if name not in shapes:  # returned no tensor: count its params only
            rows.append(LayerCount(name, type(module).__name__, n_params(module), None, None))
            continue
        row = count_layer(name, module, *shapes[name])
        if row.params == 0 and row.train_macs == 0:
            continue
        rows.append(row)
    unused = n_params(model) - sum(r.params for r in rows)
    if unused:
        rows.append(LayerCount("(not run in forward)", "unused", unused, 0, 0))
    result = ModelCount(rows)
    if result.unknown:
        warnings.warn(f"no MAC count for layers {result.unknown}; they count 0", stacklevel=2)
    return result


def format_counts(counts: ModelCount) -> str:
    """A plain text table of `count_model` rows and the total (FLOPs in millions)."""
    header = ("layer", "kind", "params", "train MFLOPs", "infer MFLOPs", "infer params")
    lines = []
    for r in [*counts.rows, counts.total]:
        mflops = ["?" if f is None else f"{f / 1e6:.2f}" for f in (r.train_flops, r.infer_flops)]
        infer_params = r.params if r.infer_params is None else r.infer_params
        lines.append((r.name, r.kind, f"{r.params:,}", *mflops, f"{infer_params:,}"))
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])

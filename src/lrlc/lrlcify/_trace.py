"""Which convolutions `lrlcify` converts: one traced forward pass on the example input (the
input size each convolution sees, the order of first calls), the `select` argument, and the
convolutions that have no LRLC form."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import torch
from torch import Tensor, nn

from ..layers import LowRankLocallyConnected2d
from ._adapters import conv_forward_padding


@dataclass(frozen=True)
class LastSpatial:
    """``select=last_spatial(n)``."""

    n: int


def last_spatial(n: int) -> LastSpatial:
    """Select the last `n` convolutions whose kernel is larger than 1x1, in the order the
    forward pass on `example_input` first calls them (1x1 convolutions are not counted)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"last_spatial(n) needs an int n >= 1, got {n!r}")
    return LastSpatial(n)


Select = str | Sequence[str] | Callable[[str, nn.Conv2d], bool] | LastSpatial


@dataclass
class Conv:
    """One `nn.Conv2d` of the model and what the example forward pass saw of it."""

    name: str
    module: nn.Conv2d
    aliases: list[str]
    order: int | None = None
    inputs: list[tuple[int, ...] | None] = field(default_factory=list)
    outputs: list[tuple[int, ...]] = field(default_factory=list)

    def describe(self) -> str:
        m, seen = self.module, self.inputs[0] if self.inputs else None
        where = f"input {seen[-2:]}" if seen else "not called"
        shape = f"{m.in_channels}->{m.out_channels}, kernel {m.kernel_size}, stride {m.stride}"
        return f"{self.name} ({shape}, groups {m.groups}, {where})"


def convolutions(model: nn.Module) -> list[Conv]:
    """Every `nn.Conv2d` of the model once, under its first name, with all its names; not those
    inside LRLC layers (the network g of input-dependent combining)."""
    found: dict[int, Conv] = {}
    named = list(model.named_modules(remove_duplicate=False))
    layers = [n for n, m in named if isinstance(m, LowRankLocallyConnected2d)]
    inside = tuple(f"{n}." if n else "" for n in layers)
    for name, module in named:
        if isinstance(module, nn.Conv2d) and not name.startswith(inside):
            found.setdefault(id(module), Conv(name, module, [])).aliases.append(name)
    return list(found.values())


def run(model: nn.Module, example_input: Any) -> Any:
    """One forward pass in eval mode without grad; every module's mode is restored."""
    modes = [(m, m.training) for m in model.modules()]
    args = example_input if isinstance(example_input, (tuple, dict)) else (example_input,)
    try:
        model.eval()
        with torch.no_grad():
            return model(**args) if isinstance(args, dict) else model(*args)
    finally:
        for m, training in modes:
            m.training = training


def trace(model: nn.Module, example_input: Any, convs: list[Conv]) -> Any:
    """Run the example, recording each convolution's input and output shapes and the order of
    first calls; returns the model's output."""
    by_id = {id(c.module): c for c in convs}
    counter = itertools.count()

    def before(module: nn.Module, args: tuple) -> None:
        conv, x = by_id[id(module)], args[0] if args else None
        conv.order = next(counter) if conv.order is None else conv.order
        conv.inputs.append(tuple(x.shape) if isinstance(x, Tensor) else None)

    def after(module: nn.Module, args: tuple, out: Any) -> None:
        by_id[id(module)].outputs.append(tuple(out.shape))

    handles = [c.module.register_forward_pre_hook(before) for c in convs]
    handles += [c.module.register_forward_hook(after) for c in convs]  # after our pre-hooks
    try:
        return run(model, example_input)
    finally:
        for handle in handles:
            handle.remove()


def select_convs(select: Select, convs: list[Conv]) -> list[Conv]:
    if isinstance(select, LastSpatial):
        called = [c for c in convs if c.order is not None and math.prod(c.module.kernel_size) > 1]
        spatial = sorted(called, key=lambda c: c.order)
        if len(spatial) < select.n:
            raise ValueError(
                f"last_spatial({select.n}): the forward pass calls only {len(spatial)} "
                f"convolution(s) with a kernel larger than 1x1{_available(convs)}"
            )
        return spatial[-select.n :]
    if callable(select):
        chosen = [c for c in convs if select(c.name, c.module)]
        what = "the predicate"
    else:
        patterns = [select] if isinstance(select, str) else list(select)
        if not patterns or not all(isinstance(p, str) for p in patterns):
            raise ValueError(
                "select must be a glob pattern, a list of them, a predicate (name, module) -> "
                f"bool, or last_spatial(n); got {select!r}"
            )

        def hit(conv: Conv, pattern: str) -> bool:
            return any(fnmatchcase(alias, pattern) for alias in conv.aliases)

        unmatched = [p for p in patterns if not any(hit(c, p) for c in convs)]
        if unmatched:
            raise ValueError(f"select pattern(s) {unmatched} match no nn.Conv2d{_available(convs)}")
        chosen = [c for c in convs if any(hit(c, p) for p in patterns)]
        what = f"the patterns {patterns}"
    if not chosen:
        raise ValueError(f"{what} select no nn.Conv2d{_available(convs)}")
    return chosen


def _available(convs: list[Conv], limit: int = 30) -> str:
    if not convs:
        return "; the model has no nn.Conv2d at all"
    lines = [c.describe() for c in convs[:limit]]
    if len(convs) > limit:
        lines.append(f"... and {len(convs) - limit} more")
    return f"; the model's {len(convs)} nn.Conv2d module(s):\n  " + "\n  ".join(lines)


def unsupported(conv: Conv) -> str | None:
    """Why this convolution cannot become an LRLC layer, or None."""
    m, cls = conv.module, type(conv.module)
    if conv_forward_padding(m) is None:
        return (
            f"its class {cls.__qualname__} computes more than nn.Conv2d's forward "
            "(lrlc.lrlcify.register_padding_rule adds one that only pads otherwise)"
        )
    if m.groups != 1:
        return f"groups={m.groups}: grouped and depthwise convolutions have no LRLC form here"
    if m.padding_mode != "zeros":
        return f"padding_mode={m.padding_mode!r}: LRLC layers pad with zeros only"
    hooks = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    if any(getattr(m, h, None) for h in hooks):
        return "it has hooks of its own, which its LRLC layer would not keep"
    if not conv.inputs:
        return "the forward pass on example_input never calls it: its input size is unknown"
    if any(s is None or len(s) != 4 for s in conv.inputs):
        return "it is called on an input that is not a batched 4-D tensor"
    sizes = sorted({s[-2:] for s in conv.inputs})  # type: ignore[index]
    if len(sizes) > 1:
        return f"it is called at several input sizes {sizes}; an LRLC layer has one input size"
    return None

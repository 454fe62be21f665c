"""Validators for layer constructor and functional arguments, so that all word errors alike.

A bad size, stride or channel count would otherwise surface later and far from its cause: a
ZeroDivisionError in the shape arithmetic, a negative dimension in `torch.empty`, or a layer
that silently builds with other sizes. Each validator raises one ValueError that names the
argument, the value given and what is allowed, and returns the value in normal form.
"""

from __future__ import annotations

import numbers
from typing import Any

_BOUNDS = {0: "non-negative", 1: "positive"}


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but True as a channel count or a kernel is a mistake.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value: Any, name: str) -> int:
    """`value` as an int >= 1 (a channel count), else a ValueError naming `name`."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def int_at_least(value: Any, name: str, minimum: int) -> int:
    """`value` as an int >= `minimum` (a rank, a width, a depth), else a ValueError."""
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _int_pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= `minimum`, as a pair (h, w)."""
    allowed = f"an int or a pair of ints, each >= {minimum}"
    pair = (value, value) if _is_int(value) else value
    if isinstance(value, (str, bytes)) or not hasattr(pair, "__iter__"):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    pair = tuple(pair)
    if len(pair) != 2 or not all(_is_int(v) for v in pair):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be {_BOUNDS[minimum]}, got {value!r} ({allowed})")
    return (int(pair[0]), int(pair[1]))


def positive_pair(value: Any, name: str) -> tuple[int, int]:
    """A kernel size, stride, dilation or spatial size: an int or a pair of ints >= 1."""
    return _int_pair(value, name, 1)


def non_negative_pair(value: Any, name: str) -> tuple[int, int]:
    """An explicit padding: an int or a pair of ints >= 0."""
    return _int_pair(value, name, 0)

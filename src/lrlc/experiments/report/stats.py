"""Statistics of seeds: mean and standard error, as the paper reports them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stat:
    """Mean and standard error of n values; se is None when n == 1."""

    mean: float
    se: float | None
    n: int

    def fmt(self, digits: int = 2) -> str:
        se = "n/a" if self.se is None else f"{self.se:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {se}"


def mean_se(values: Sequence[float]) -> Stat:
    """Mean and SE = sample std (ddof=1) / sqrt(n)."""
    n = len(values)
    if n == 0:
        raise ValueError("mean_se of no values")
    mean = sum(values) / n
    if n == 1:
        return Stat(mean, None, 1)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return Stat(mean, math.sqrt(var / n), n)

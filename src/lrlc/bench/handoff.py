"""A probe of a state of the machine that slows the LRLC kernel path's small products: the
filter build ((22, 4) @ (4, 12288), `torch.mm`) followed by the row product that reads its
output (`torch.bmm` over the 22 positions), against the two timed apart. The name is for
what the pair does, hand the filters from one product to the next.

Why: on a 2-core AMD EPYC Zen 4 VM (session 18, `docs/performance.md`) this excess went
between about 0 and 100-200 us within seconds to minutes, and with it the kernel path's
training step at batch 128 by up to 40%, while a convolution and Algorithm 1 did not move
(the cause is not settled; the shared L3 lost to other tenants of the host fits best). The
benchmarks record the probe at their start and end, so that a grid taken in the slow state
says so. About 0.15 s per call.
"""

from __future__ import annotations

import statistics
import time

import torch

# The probe's reading above which the kernel path's small products were 3-4x slower there.
SLOW_US = 80.0


def _per_call_us(step, calls: int) -> float:
    for _ in range(calls // 5):
        step()
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls * 1e6


def handoff_parts(calls: int = 100, filters: torch.Tensor | None = None) -> tuple[float, ...]:
    """(build, product, build then product) in microseconds per call, float32, this process's
    threads. `filters`: a (22, 12288) float32 tensor to build into (a view at a chosen address,
    say) instead of a new one."""
    w, bases = torch.rand(22, 4), torch.randn(4, 12288)
    filters = torch.empty(22, 12288) if filters is None else filters
    patches, out = torch.randn(22, 128, 192), torch.empty(22, 128, 64)

    def build():
        torch.mm(w, bases, out=filters)

    def product():
        torch.bmm(patches, filters.view(22, 192, 64), out=out)

    def both():
        build()
        product()

    return tuple(_per_call_us(step, calls) for step in (build, product, both))


def handoff_us(calls: int = 40, repeats: int = 3) -> float:
    """Microseconds a build and the product reading its output cost together beyond what they
    cost apart: near 0 in the fast state, 100-200 in the slow state seen on a Zen 4 VM. The
    median of `repeats` readings, so that one disturbed timing does not decide it (single
    readings in the fast state ranged from -250 to +50)."""
    readings = []
    for _ in range(repeats):
        build, product, both = handoff_parts(calls)
        readings.append(both - build - product)
    return statistics.median(readings)


def describe(us: float) -> str:
    return f"{us:+.0f} us ({'slow' if us > SLOW_US else 'fast'})"

"""How much of a long preset is left, in hours of this machine: the budget's estimate of the
unfinished runs, scaled by how the finished runs' wall times compare with their estimates.

The measurement behind an estimate (`budget measure`) was made once, on one machine; a preset
that runs over several sessions meets other machines. The finished runs say how fast this one
is, per run, so the same estimate rescaled is what the remaining runs should take here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..records import RESULT
from ..sweep import run_dir
from .budget import Timing, load_timings, lookup, run_seconds, side_of
from .plans import Preset
from .presets import get_preset


@dataclass(frozen=True)
class Remaining:
    finished: int
    planned: int
    finished_wall_s: float  # what the finished runs took (their result.json wall times)
    finished_estimate_s: float  # what the budget said they would take
    remaining_estimate_s: float  # the budget's estimate of the unfinished runs

    @property
    def scale(self) -> float:
        """This machine's wall time per second of the estimate (1.0 before any run is done)."""
        if not self.finished_estimate_s:
            return 1.0
        return self.finished_wall_s / self.finished_estimate_s

    def remaining_s(self) -> float:
        return self.remaining_estimate_s * self.scale

    def describe(self, workers: int) -> str:
        hours = self.remaining_s() / 3600
        return (
            f"{self.finished} of {self.planned} runs finished, in {self.finished_wall_s / 3600:.2f}"
            f" h of machine time against {self.finished_estimate_s / 3600:.2f} h estimated "
            f"(x{self.scale:.2f}); the {self.planned - self.finished} left: about {hours:.1f} h of"
            f" machine time, {hours / workers:.1f} h on {workers} workers"
        )


def remaining(preset: Preset, records: str | Path, timings: Sequence[Timing]) -> Remaining:
    """Finished runs are those with a result.json under records/<sweep>/runs/<run id>/."""
    return total(by_sweep(preset, records, timings))


def total(by_sweep: dict[str, Remaining]) -> Remaining:
    """The sweeps' runs and seconds added up."""
    parts = by_sweep.values()
    return Remaining(
        sum(r.finished for r in parts),
        sum(r.planned for r in parts),
        sum(r.finished_wall_s for r in parts),
        sum(r.finished_estimate_s for r in parts),
        sum(r.remaining_estimate_s for r in parts),
    )


def by_sweep(
    preset: Preset, records: str | Path, timings: Sequence[Timing]
) -> dict[str, Remaining]:
    """`remaining` of each sweep of the preset, in its order."""
    out = {}
    for plan in preset.sweeps:
        finished = planned = 0
        wall = done_est = left_est = 0.0
        for config in plan.grid().configs():
            planned += 1
            t = lookup(timings, config.model, config.rank, side_of(config))
            estimate = sum(run_seconds(config, t))
            path = run_dir(Path(records) / plan.name, config) / RESULT
            if path.exists():
                finished += 1
                wall += json.loads(path.read_text())["metrics"]["wall_time_s"]
                done_est += estimate
            else:
                left_est += estimate
        out[plan.name] = Remaining(finished, planned, wall, done_est, left_est)
    return out


def sweep_lines(parts: dict[str, Remaining], scale: float, workers: int) -> list[str]:
    """One line per unfinished sweep, its estimate scaled by the whole preset's `scale` (the
    finished runs of every sweep say how fast this machine is; one sweep's may be few)."""
    lines = []
    for name, r in parts.items():
        if r.finished < r.planned:
            hours = r.remaining_estimate_s * scale / 3600
            lines.append(
                f"  {name}: {r.finished} of {r.planned} runs finished; about {hours:.1f} h of "
                f"machine time left, {hours / workers:.1f} h on {workers} workers"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m lrlc.experiments.reproduce.remaining",
        description="Hours left of a preset on this machine, from its finished runs.",
    )
    p.add_argument("records", type=Path, help="the preset's records folder (one per sweep)")
    p.add_argument("--timings", type=Path, required=True, help="the budget's timings.json")
    p.add_argument("--preset", default="converged")
    p.add_argument("--workers", type=int, default=2, help="parallel 1-thread runs")
    args = p.parse_args(argv)
    try:
        preset, timings = get_preset(args.preset), load_timings(args.timings)
        parts = by_sweep(preset, args.records, timings)
    except (ValueError, OSError, KeyError) as err:
        print(f"remaining: error: {err}", file=sys.stderr)
        return 2
    left = total(parts)
    print(left.describe(args.workers))
    print("\n".join(sweep_lines(parts, left.scale, args.workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

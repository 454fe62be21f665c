"""A preset's machine time, estimated from measured run times before it is launched.

`measure` trains every (model, rank) of a preset, per image size, for 2 short epochs on this
machine (a sweep of its own, resumable) and keeps the second epoch's times: training ms per
image and validation ms per image. `estimate` multiplies them out over every run of the
preset: epochs x training images for the training, and for the evaluation the validation
passes (`val_every`), the final pass over the training images and the test set.

    python -m lrlc.experiments.reproduce.budget measure --preset converged --out DIR
    python -m lrlc.experiments.reproduce.budget estimate --preset converged --timings DIR

The estimate assumes the measured per-image times hold for the whole run (they do not depend
on the weights) and that W workers share the runs perfectly (each sweep ends with some
workers idle: a tail allowance of half the sweep's longest run is added per sweep).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...data import parse_canvas
from ..config import TrainConfig
from ..machine import SpeedOptions, cpu_model
from ..records import METRICS, iter_results
from ..sweep import DatasetLoader, LocalExecutor, SweepGrid, run_sweep
from .plans import Preset
from .presets import get_preset

# Training/validation/test images of the built-in datasets that a budget knows.
SPLITS = {"mnist": (55_200, 4_800, 10_000), "fashion_mnist": (55_200, 4_800, 10_000)}
SPLITS |= {"cifar10": (45_000, 5_000, 10_000), "celeba32": (162_770, 19_867, 19_962)}
INPUT_SIDE = {"mnist": 28, "fashion_mnist": 28, "cifar10": 32, "celeba32": 32}


@dataclass(frozen=True)
class Timing:
    """Measured cost of one (model, rank) at one input side, in ms per image."""

    model: str
    rank: int
    side: int
    train_ms: float
    eval_ms: float


def side_of(config: TrainConfig) -> int:
    """The side of the images a run trains on (the canvas's, if any)."""
    canvas = parse_canvas(config.canvas)
    if canvas is not None:
        return canvas.size
    if config.dataset not in INPUT_SIDE:
        raise ValueError(f"no image size known for {config.dataset!r}; budgets know {INPUT_SIDE}")
    return INPUT_SIDE[config.dataset]


def lookup(timings: Sequence[Timing], model: str, rank: int, side: int) -> Timing:
    """The timing of (model, rank, side): measured, else linear in the rank between (or
    beyond) the two nearest measured ranks of that model and side."""
    known = sorted((t for t in timings if (t.model, t.side) == (model, side)), key=lambda t: t.rank)
    if not known:
        raise ValueError(f"no timing measured for {model} on {side}x{side} images; measure first")
    exact = [t for t in known if t.rank == rank]
    if exact or len(known) == 1:
        return exact[0] if exact else known[0]
    below = [t for t in known if t.rank < rank][-1:] or known[:1]
    above = [t for t in known if t.rank > rank][:1] or known[-1:]
    a, b = (below[0], above[0]) if below[0] is not above[0] else (known[-2], known[-1])
    f = (rank - a.rank) / (b.rank - a.rank)
    return Timing(model, rank, side, *(x + f * (y - x) for x, y in
                  ((a.train_ms, b.train_ms), (a.eval_ms, b.eval_ms))))  # fmt: skip


def run_seconds(config: TrainConfig, t: Timing) -> tuple[float, float]:
    """(training, evaluation) seconds of one run at the measured per-image costs."""
    if config.dataset not in SPLITS:
        raise ValueError(f"no split sizes known for {config.dataset!r}; budgets know {SPLITS}")
    n_train, n_val, n_test = SPLITS[config.dataset]
    n_train = config.train_size or n_train
    evaluated = validations(config) * n_val + n_train + n_test  # the last validation is reused
    return config.epochs * n_train * t.train_ms / 1e3, evaluated * t.eval_ms / 1e3


def validations(config: TrainConfig) -> int:
    """How many validation passes a run makes: every val_every-th epoch, and the last."""
    every, epochs = config.val_every, config.epochs
    return 1 if not every else epochs // every + (1 if epochs % every else 0)


@dataclass
class SweepCost:
    name: str
    runs: int
    train_s: float
    eval_s: float
    longest_s: float

    @property
    def total_s(self) -> float:
        return self.train_s + self.eval_s


def estimate(preset: Preset, timings: Sequence[Timing]) -> list[SweepCost]:
    """Per sweep of the preset: its runs and their summed training and evaluation seconds."""
    out = []
    for plan in preset.sweeps:
        cost = SweepCost(plan.name, 0, 0.0, 0.0, 0.0)
        for config in plan.grid().configs():
            t = lookup(timings, config.model, config.rank, side_of(config))
            train_s, eval_s = run_seconds(config, t)
            cost.runs += 1
            cost.train_s += train_s
            cost.eval_s += eval_s
            cost.longest_s = max(cost.longest_s, train_s + eval_s)
        out.append(cost)
    return out


def estimate_markdown(costs: Sequence[SweepCost], workers: int = 2) -> str:
    """The estimate as a Markdown table, with the wall time on `workers` parallel workers."""
    lines = ["| sweep | runs | training (h) | evaluation (h) | machine time (h) |"]
    lines.append("|---|---|---|---|---|")
    for c in costs:
        cells = (c.name, c.runs, c.train_s / 3600, c.eval_s / 3600, c.total_s / 3600)
        lines.append("| {} | {} | {:.2f} | {:.2f} | {:.2f} |".format(*cells))
    total = sum(c.total_s for c in costs)
    tail = sum(c.longest_s for c in costs) / 2 if workers > 1 else 0.0
    lines.append(
        f"| **all** | {sum(c.runs for c in costs)} | {sum(c.train_s for c in costs) / 3600:.2f} "
        f"| {sum(c.eval_s for c in costs) / 3600:.2f} | {total / 3600:.2f} |"
    )
    wall = (total / workers + tail) / 3600
    lines.append(
        f"\nWall time on {workers} workers of 1 thread: {total / 3600:.2f} / {workers} + "
        f"{tail / 3600:.2f} (tail: half of each sweep's longest run) = **{wall:.1f} h**."
    )
    return "\n".join(lines)


# --- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadLoader:
    """The standard loader with validation and test cut to their first `n_eval` images (a
    measurement needs their cost per image, not their accuracy). Picklable."""

    data_dir: str | None
    n_eval: int

    def __call__(self, config: TrainConfig):
        data = DatasetLoader(self.data_dir)(config)
        val, test = (tuple(t[: self.n_eval] for t in s) for s in (data.val, data.test))
        tag = f"{data.fingerprint}-head{self.n_eval}"
        return dataclasses.replace(data, val=val, test=test, fingerprint=tag)


def measurement_plans(preset: Preset) -> dict[int, tuple[TrainConfig, dict[str, list[int]]]]:
    """Per image side: a base config of the preset at that side, and each model's ranks."""
    plans: dict[int, tuple[TrainConfig, dict[str, list[int]]]] = {}
    for plan in preset.sweeps:
        grid = plan.grid()
        side = side_of(grid.base)
        base, ranks = plans.setdefault(side, (grid.base, {}))
        for model in grid.models:
            have = ranks.setdefault(model, [])
            have += [r for r in grid.ranks_of(model) if r not in have]
    return plans


class _BusyClock:
    """Per finished run (by folder name), the share of its wall time this process was on a
    CPU: under other load a 1-thread run waits, and its wall time overstates its cost."""

    def __init__(self) -> None:
        self.share: dict[str, float] = {}
        self._mark = (time.process_time(), time.perf_counter())

    def __call__(self, job, result, seconds, error) -> None:
        now = (time.process_time(), time.perf_counter())
        cpu, wall = now[0] - self._mark[0], now[1] - self._mark[1]
        self.share[job.run_dir.name] = min(1.0, cpu / wall) if wall > 0 else 1.0
        self._mark = now


def measure(
    preset: Preset,
    out: str | Path,
    data_dir: str | None = None,
    n_train: int = 1024,
    n_eval: int = 1024,
    repeats: int = 2,
) -> list[Timing]:
    """Train every (model, rank, side) of the preset for 2 epochs of `n_train` images on 1
    torch thread, `repeats` times (as seeds); per point the median of the second epochs'
    costs, as CPU time (wall time x the run's share on a CPU; `_BusyClock`). Writes
    `out`/timings.json with these and the wall times as measured ("wall_timings")."""
    out = Path(out)
    timings, walls, loads = [], [], [os.getloadavg()[0]]
    for side, (base, ranks) in sorted(measurement_plans(preset).items()):
        base = dataclasses.replace(base, epochs=2, warmup_epochs=0, train_size=n_train)
        base = dataclasses.replace(base, val_every=0, data_seed=0)
        grid = SweepGrid(base, list(ranks), [1], list(range(repeats)), ranks)
        executor = LocalExecutor(1, speed=SpeedOptions(threads=1))
        clock = _BusyClock()
        folder = out / f"side{side}"
        run_sweep(grid, folder, executor, HeadLoader(data_dir, n_eval), on_run_end=clock)
        timings += _read_timings(folder, side, n_train, n_eval, clock.share)
        walls += _read_timings(folder, side, n_train, n_eval, {})
        loads.append(os.getloadavg()[0])
    record = {"cpu": cpu_model(), "threads": 1, "n_train": n_train, "n_eval": n_eval}
    record.update(repeats=repeats, load_average_1min=loads)
    record["timings"] = [dataclasses.asdict(t) for t in timings]
    record["wall_timings"] = [dataclasses.asdict(t) for t in walls]
    (out / "timings.json").write_text(json.dumps(record, indent=2) + "\n")
    return timings


def _read_timings(
    folder: Path, side: int, n_train: int, n_eval: int, share: dict[str, float]
) -> list[Timing]:
    """Per (model, rank): the median second-epoch cost of its runs, each scaled by its share
    on a CPU (1 for runs without one, e.g. trained in an earlier session)."""
    samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for run_folder, result in iter_results(folder):
        config = TrainConfig.from_dict(result["config"])
        last = json.loads((run_folder / METRICS).read_text().splitlines()[-1])
        f = share.get(run_folder.name, 1.0)
        train_s = last["epoch_time_s"] - last["eval_time_s"]
        sample = (1e3 * f * train_s / n_train, 1e3 * f * last["eval_time_s"] / n_eval)
        samples.setdefault((config.model, config.rank), []).append(sample)
    return [
        Timing(model, rank, side, statistics.median(s[0] for s in got),
               statistics.median(s[1] for s in got))
        for (model, rank), got in sorted(samples.items())
    ]  # fmt: skip


def load_timings(path: str | Path, wall: bool = False) -> list[Timing]:
    """The timings of a measurement (its timings.json, or the folder holding it): CPU time,
    or with `wall` the wall times as measured."""
    path = Path(path)
    path = path / "timings.json" if path.is_dir() else path
    record = json.loads(path.read_text())
    return [Timing(**t) for t in record["wall_timings" if wall else "timings"]]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lrlc.experiments.reproduce.budget")
    p.add_argument("what", choices=("measure", "estimate"))
    p.add_argument("--preset", default="converged")
    p.add_argument("--out", type=Path, help="measure: folder of the measurement")
    p.add_argument("--timings", type=Path, help="estimate: a measurement's timings.json")
    p.add_argument("--data-dir", help="root folder of the datasets")
    p.add_argument("--workers", type=int, default=2, help="estimate: parallel 1-thread runs")
    p.add_argument("--repeats", type=int, default=2, help="measure: runs per point")
    p.add_argument(
        "--wall", action="store_true", help="estimate: from wall times as measured, not CPU time"
    )
    args = p.parse_args(argv)
    try:
        preset = get_preset(args.preset)
        if args.what == "measure":
            if args.out is None:
                raise ValueError("measure needs --out FOLDER")
            timings = measure(preset, args.out, args.data_dir, repeats=args.repeats)
        else:
            if args.timings is None:
                raise ValueError("estimate needs --timings (a measurement's timings.json)")
            timings = load_timings(args.timings, args.wall)
        print(estimate_markdown(estimate(preset, timings), args.workers))
    except (ValueError, RuntimeError, OSError) as err:
        print(f"budget: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

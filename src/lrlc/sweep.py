"""Many runs: a grid of configurations, one folder per run, resumable.

A sweep folder holds `sweep.json` (the grid, the commands that ran it, start and end times) and
`runs/<run_id>/` per configuration, each written by `lrlc.train.train`. A run whose result.json
exists is never trained again, and a half-done run resumes from its checkpoint, so rerunning the
same command after an interruption picks up where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .checkpoint import write_json
from .config import TrainConfig
from .data import Dataset
from .models import model_names, uses_rank
from .progress import warn
from .train import RESULT, load_run_data

SWEEP_JSON = "sweep.json"
RUNS = "runs"
# Fields a grid varies; every other TrainConfig field is shared by all runs of a sweep.
GRID_FIELDS = ("model", "rank", "seed")

DataLoader = Callable[[TrainConfig], Dataset]
RunCallback = Callable[["Job", "dict[str, Any] | None", float, "str | None"], None]


def parse_int_list(text: str) -> list[int]:
    """'0-9' -> [0..9], '0,2,5' -> [0, 2, 5], '0-2,7' -> [0, 1, 2, 7] (duplicates dropped)."""
    values: list[int] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            chunk = range(int(lo), int(hi) + 1) if sep else [int(part)]
        except ValueError:
            raise ValueError(f"not a number or range: {part!r} (in {text!r})") from None
        if sep and int(hi) < int(lo):
            raise ValueError(f"empty range {part!r}: write low-high, e.g. 0-9")
        values += [v for v in chunk if v not in values]
    if not values:
        raise ValueError(f"no values in {text!r}")
    return values


def parse_models(text: str) -> list[str]:
    """Comma-separated model names; 'all' = every model, 'paper' = the paper's models."""
    names: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part == "all":
            chosen = model_names()
        elif part == "paper":
            chosen = [m for m in model_names() if not m.startswith("ns")]
        elif part in model_names():
            chosen = [part]
        else:
            raise ValueError(f"unknown model {part!r}; known: {', '.join(model_names())}")
        names += [m for m in chosen if m not in names]
    if not names:
        raise ValueError("no models given")
    return names


@dataclass
class SweepGrid:
    """Every combination of models x ranks x seeds on one shared base configuration.

    Ranks apply only to models where `uses_rank(model)`; the others run once per seed.
    """

    base: TrainConfig
    models: list[str]
    ranks: list[int]
    seeds: list[int]

    def configs(self) -> list[TrainConfig]:
        # Seeds outermost: a sweep stopped early still has every model at the first seeds,
        # which is a usable (if noisier) comparison, rather than all seeds of a few models.
        out = []
        for seed in self.seeds:
            for model in self.models:
                for rank in self.ranks if uses_rank(model) else [1]:
                    out.append(dataclasses.replace(self.base, model=model, rank=rank, seed=seed))
        return out

    def to_dict(self) -> dict[str, Any]:
        shared = {k: v for k, v in self.base.to_dict().items() if k not in GRID_FIELDS}
        return {"base": shared, "models": self.models, "ranks": self.ranks, "seeds": self.seeds}


@dataclass(frozen=True)
class Job:
    """One configuration and the folder it trains in."""

    config: TrainConfig
    run_dir: Path


def run_dir(sweep_dir: str | Path, config: TrainConfig) -> Path:
    """The folder of one run inside a sweep folder."""
    return Path(sweep_dir) / RUNS / config.run_id()


def is_complete(folder: Path, config: TrainConfig) -> bool:
    """True if `folder` holds the finished result of exactly this configuration."""
    path = Path(folder) / RESULT
    if not path.exists():
        return False
    try:
        done = json.loads(path.read_text())
        return isinstance(done, dict) and not config.differences(done.get("config", {}))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # a torn or foreign file: let the trainer decide


def load_sweep_data(config: TrainConfig, data_dir: str | Path | None = None) -> Dataset:
    """The dataset of a sweep, loaded exactly as `train` would load it for `config`."""
    return load_run_data(config, data_dir)


@dataclass
class DatasetLoader:
    """A picklable loader (worker processes and Ray tasks need one)."""

    data_dir: str | None = None

    def __call__(self, config: TrainConfig) -> Dataset:
        return load_sweep_data(config, self.data_dir)


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def _fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    return f"{h}h{rem // 60:02d}m" if h else f"{rem // 60}m{rem % 60:02d}s"


class _Progress:
    """'[done/total] ... ETA' lines; the ETA uses this session's wall time per finished run."""

    def __init__(self, total: int, done: int, pending: int) -> None:
        self.total, self.done, self.pending = total, done, pending
        self.ran, self.failed = 0, []
        self.t0 = time.monotonic()

    def __call__(self, job: Job, result: dict | None, seconds: float, error: str | None) -> None:
        c = job.config
        self.ran += 1
        rank = f" rank {c.rank}" if uses_rank(c.model) else ""
        what = f"{c.model}{rank} seed {c.seed}"
        if error is None:
            self.done += 1
            m = result["metrics"]
            outcome = f"val {m['val_acc']:.2f} test {m['test_acc']:.2f}"
        else:
            self.failed.append((job, error))
            outcome = f"FAILED: {error}"
        left = self.pending - self.ran
        eta = (time.monotonic() - self.t0) / self.ran * left
        print(
            f"[{self.done}/{self.total}] {what}: {outcome} ({seconds:.0f}s)  "
            f"{left} to go, ETA {_fmt_duration(eta)}",
            flush=True,
        )


def _record_session(
    path: Path, grid: SweepGrid, session: dict[str, Any], index: int | None = None
) -> int:
    """Append (index None) or update this invocation's entry in sweep.json; returns its index.

    One entry per invocation, so an interrupted-and-resumed sweep shows its whole history.
    """
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            data = {}
    sessions = data.get("sessions", [])
    if index is None or index >= len(sessions):
        sessions.append(session)
        index = len(sessions) - 1
    else:
        sessions[index] = session
    data.update(grid=grid.to_dict(), runs_total=len(grid.configs()), sessions=sessions)
    write_json(path, data)
    return index


def run_sweep(
    grid: SweepGrid,
    out: str | Path,
    executor: Any = None,
    loader: DataLoader | None = None,
    command: Sequence[str] | str | None = None,
    on_run_end: RunCallback | None = None,
) -> dict[str, Any]:
    """Train every configuration of `grid` that has no result yet in `out`/runs/.

    `executor` defaults to `LocalExecutor()` (one run at a time, in this process). `loader`
    maps the (shared) data settings to the dataset, loaded once per sweep; default: the
    standard loader. `on_run_end(job, result, seconds, error)` is called after each run this
    session trains, after the progress line. Returns a summary; raises RuntimeError if some runs
    failed (the others are kept; rerunning retries the failed ones).
    """
    from .executors import LocalExecutor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    executor = executor if executor is not None else LocalExecutor()
    loader = loader if loader is not None else DatasetLoader()
    jobs = [Job(c, run_dir(out, c)) for c in grid.configs()]
    pending = [j for j in jobs if not is_complete(j.run_dir, j.config)]
    progress = _Progress(len(jobs), len(jobs) - len(pending), len(pending))
    cmd = command if isinstance(command, str) or command is None else " ".join(command)
    session: dict[str, Any] = {
        "command": cmd or "python API: lrlc.sweep.run_sweep",
        "executor": getattr(executor, "description", type(executor).__name__),
        "started": _now(),
        "finished": None,
        "runs_done_at_start": progress.done,
    }
    index = _record_session(out / SWEEP_JSON, grid, session)
    print(
        f"sweep {out}: {len(jobs)} runs, {progress.done} already done, {len(pending)} to run "
        f"({session['executor']})",
        flush=True,
    )

    def report(job: Job, result: dict | None, seconds: float, error: str | None) -> None:
        progress(job, result, seconds, error)
        if on_run_end is not None:
            on_run_end(job, result, seconds, error)

    status = "interrupted"
    try:
        if pending:
            executor.run(pending, loader, report)
        status = "failed" if progress.failed else "complete"
    finally:
        trained = progress.ran - len(progress.failed)
        session.update(finished=_now(), status=status, runs_trained=trained)
        session["runs_failed"] = len(progress.failed)
        _record_session(out / SWEEP_JSON, grid, session, index)
    if progress.failed:
        lines = "; ".join(f"{j.run_dir.name} ({j.config.model}): {e}" for j, e in progress.failed)
        raise RuntimeError(
            f"{len(progress.failed)} of {len(jobs)} runs failed: {lines}. The other runs are "
            "kept; rerun the same command to retry the failed ones"
        )
    return {"out": str(out), "runs_total": len(jobs), "runs_trained": session["runs_trained"]}


def iter_results(
    sweep_dir: str | Path, skipped: list[Path] | None = None
) -> Iterable[tuple[Path, dict[str, Any]]]:
    """(run folder, result.json contents) for every finished run of a sweep folder.

    A record that cannot be read (torn by a crash, not JSON) is named in a warning and left
    out, and its path appended to `skipped`; the trainer retrains such a run.
    """
    for path in sorted(Path(sweep_dir).glob(f"{RUNS}/*/{RESULT}")):
        try:
            result = json.loads(path.read_text())
            if not isinstance(result, dict) or "config" not in result:
                raise ValueError("not a run record (no config)")
        except (OSError, UnicodeDecodeError, ValueError) as err:
            warn(f"skipping {path}: unreadable ({err}); rerun the sweep to retrain it")
            if skipped is not None:
                skipped.append(path)
            continue
        yield path.parent, result

"""Running a sweep: every configuration of a grid that has no result yet, resumably.

A sweep folder holds `sweep.json` (the grid, the commands that ran it, start and end times) and
`runs/<run_id>/` per configuration, each written by the trainer (`lrlc.experiments.run`). A
run whose result.json exists is never trained again, and a half-done run resumes from its
checkpoint, so rerunning the same command after an interruption picks up where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..files import write_json
from ..progress import SweepProgress
from ..records import SWEEP_JSON
from .executors import LocalExecutor
from .grid import DataLoader, DatasetLoader, Job, SweepGrid, is_complete, run_dir

RunCallback = Callable[[Job, "dict[str, Any] | None", float, "str | None"], None]


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


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
    grid.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    executor = executor if executor is not None else LocalExecutor()
    loader = loader if loader is not None else DatasetLoader()
    jobs = [Job(c, run_dir(out, c)) for c in grid.configs()]
    pending = [j for j in jobs if not is_complete(j.run_dir, j.config)]
    progress = SweepProgress(len(jobs), len(jobs) - len(pending), len(pending))
    cmd = command if isinstance(command, str) or command is None else " ".join(command)
    session: dict[str, Any] = {
        "command": cmd or "python API: lrlc.experiments.sweep.run_sweep",
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

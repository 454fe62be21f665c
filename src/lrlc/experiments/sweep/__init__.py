"""Many runs: a grid of models x ranks x seeds, its executors (local, worker processes, Ray)
and the resumable runner."""

from ..records import RUNS, SWEEP_JSON, iter_results
from .executors import LocalExecutor, RayExecutor, threads_per_worker
from .grid import (
    GRID_FIELDS,
    DataLoader,
    DatasetLoader,
    Job,
    SweepGrid,
    is_complete,
    parse_int_list,
    parse_models,
    run_dir,
)
from .runner import run_sweep

__all__ = [
    "GRID_FIELDS",
    "RUNS",
    "SWEEP_JSON",
    "DataLoader",
    "DatasetLoader",
    "Job",
    "LocalExecutor",
    "RayExecutor",
    "SweepGrid",
    "is_complete",
    "iter_results",
    "parse_int_list",
    "parse_models",
    "run_dir",
    "run_sweep",
    "threads_per_worker",
]

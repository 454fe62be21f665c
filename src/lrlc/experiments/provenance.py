"""Where a number came from: code version, machine and library versions."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

# The package's own folder: its code is what a run's numbers depend on.
_SOURCE = Path(__file__).resolve().parents[1]


@functools.cache
def git_commit() -> str:
    """The commit of the lrlc source tree, with '+dirty' if it has uncommitted changes.

    Read once per process: the code a process runs is what it imported, so a commit made
    while a long sweep runs must not be recorded against its later runs. Only the package's
    own files count towards '+dirty': records and reports that a sweep writes into the same
    checkout (docs/results/...) are data, not code.
    """
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_SOURCE, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", str(_SOURCE)],
            cwd=_SOURCE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        from .. import __version__

        return f"unknown (not a git checkout; lrlc {__version__})"


def environment() -> dict[str, Any]:
    """Versions and machine facts recorded with every run."""
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "host": platform.node(),
    }

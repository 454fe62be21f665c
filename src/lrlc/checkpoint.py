"""Atomic files: a crash mid-write never leaves a half-written checkpoint or result."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` with torch.save to a temp file, then rename it over `path`."""
    _atomic_write(Path(path), lambda f: torch.save(state, f))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with `weights_only=True`: tensors and plain containers only."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise RuntimeError(
            f"checkpoint {path} could not be read ({err}); delete it to restart the run "
            "from scratch"
        ) from err


def write_json(path: Path, data: Any) -> None:
    """Atomically write `data` as indented JSON."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    """Atomically write `text`."""
    _atomic_write(Path(path), lambda f: f.write(text.encode()))

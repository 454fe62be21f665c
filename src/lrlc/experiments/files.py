"""Atomic files: a crash mid-write never leaves a half-written checkpoint or result; and
one-line messages for the file-system errors of writing them."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # os.umask can only be read by setting it: set a strict value and restore it at once.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, write) -> None:
    """Write to a temp file beside `path`, then rename it over `path`.

    The file gets the mode a plain `open()` would give (0o666 less the umask), not the 0o600
    of `tempfile.mkstemp`, so records in a shared output folder stay readable. On failure
    the temp file is removed and an existing `path` is left as it was; an OSError of the temp
    file is raised naming `path`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise _naming(err, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), 0o666 & ~_umask())
            else:  # pragma: no cover (Windows before Python 3.13)
                os.chmod(tmp, 0o666 & ~_umask())
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno is not None:
            raise _naming(err, path) from err
        raise


def _naming(err: OSError, path: Path) -> OSError:
    """The same kind of OSError (errno and reason) naming `path`, not the temp file."""
    if err.errno is None:
        return err
    return OSError(err.errno, err.strerror, str(path))


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` with torch.save to a temp file, then rename it over `path`."""
    _atomic_write(Path(path), lambda f: torch.save(state, f))


def _why_unreadable(err: Exception) -> str:
    """A short reason from torch's error, without its advice to load the file with
    `weights_only=False` (which would run whatever code the file holds)."""
    text = str(err)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if found:
        return f"it refers to the Python object {found.group(1)}"
    first = text.strip().split("\n")[0].split(". ")[0].strip()
    # Only torch's own RuntimeErrors (a broken zip archive) carry a message worth quoting.
    if type(err) is not RuntimeError or not first or "weights" in text.lower():
        return type(err).__name__
    return first[:200]


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with `weights_only=True`: tensors and plain containers only.

    A file that cannot be read that way raises a RuntimeError naming it; errors of the file
    system itself (missing, a folder, no permission) are raised as they are.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as err:
        raise RuntimeError(
            f"checkpoint {path} cannot be read as a weights-only checkpoint "
            f"({_why_unreadable(err)}): it is corrupt, truncated, or not written by lrlc; "
            "delete it or move it away to restart the run from scratch"
        ) from None


def write_json(path: Path, data: Any) -> None:
    """Atomically write `data` as indented JSON."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    """Atomically write `text`."""
    _atomic_write(Path(path), lambda f: f.write(text.encode()))


def explain_os_error(err: OSError) -> str:
    """One line for a file-system error: the path, what went wrong, and what to do.

    An OSError without a file name (raised by lrlc with its own message) is said as it is.
    """
    if err.filename is None:
        return str(err) or type(err).__name__
    path = str(err.filename)
    if err.filename2 is not None:
        path += f" -> {err.filename2}"
    if isinstance(err, FileExistsError):
        if os.path.isfile(err.filename):
            return (
                f"{path} is a file where a folder is needed: choose another --out, or move "
                "the file away"
            )
        return f"{path} already exists: choose another --out, or move it away"
    if isinstance(err, NotADirectoryError):
        return f"{path}: a part of this path is a file, not a folder: choose another --out"
    if isinstance(err, IsADirectoryError):
        return (
            f"{path} is a folder where a file is to be written: choose another --out, or move "
            "the folder away"
        )
    if isinstance(err, PermissionError):
        return f"{path}: permission denied: choose another --out, or fix its permissions"
    if isinstance(err, FileNotFoundError):
        return f"{path}: no such file or folder: check the path"
    reason = err.strerror or str(err) or type(err).__name__
    return f"{path}: {reason}: choose another --out, or fix the cause (space, permissions)"

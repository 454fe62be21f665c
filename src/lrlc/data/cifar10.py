"""CIFAR-10 from `cifar-10-python.tar.gz` (read in place) or its extracted folder.

Each batch is a pickled dict with "data" (N, 3072) uint8, channel-major 3 x 32 x 32, and
"labels" (a list of N ints); keys are bytes or str depending on how it was unpickled.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from . import safe_pickle
from .sources import RawData, announce, dataset_dir, fetch_files, not_found

__all__ = ["load_cifar10_raw", "read_cifar_batch"]

NAME = "cifar10"
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
FOLDER = "cifar-10-batches-py"
BATCHES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}


def read_cifar_batch(file: io.BufferedIOBase, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch -> uint8 images (N, 32, 32, 3), int64 labels (N,)."""
    try:
        content = safe_pickle.restricted_load(file, extra=[("_codecs", "encode")])
    except pickle.UnpicklingError as error:
        # Also raised for a refused global: keep the type, add the file name.
        raise pickle.UnpicklingError(f"{where}: {error}") from error
    except (EOFError, ValueError, TypeError, IndexError) as error:
        raise ValueError(
            f"{where}: unreadable CIFAR batch ({error}); delete it and download it again"
        ) from error
    if not isinstance(content, dict):
        raise ValueError(f"{where}: expected a dict, got {type(content).__name__}")
    content = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in content.items()}
    data, labels = content.get("data"), content.get("labels")
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{where}: 'data' must be an (N, 3072) array")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(data),) or (labels.size and not 0 <= labels.min() <= labels.max() < 10):
        raise ValueError(f"{where}: 'labels' must be {len(data)} ints in 0..9")
    images = data.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _assemble(batches: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    splits = {}
    for split, names in BATCHES.items():
        parts = [batches[name] for name in names]
        splits[split] = (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )
    return splits


def _read_folder(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    batches = {}
    for name in (n for names in BATCHES.values() for n in names):
        with open(folder / name, "rb") as handle:
            batches[name] = read_cifar_batch(handle, str(folder / name))
    return _assemble(batches)


def _read_archive(archive: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    wanted = {f"{FOLDER}/{n}" for names in BATCHES.values() for n in names}
    batches = {}
    try:
        # Stream through the members once: random access into a .tar.gz re-decompresses.
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name in wanted and member.isfile():
                    handle = tar.extractfile(member)
                    assert handle is not None
                    batches[name.split("/")[-1]] = read_cifar_batch(handle, f"{archive}!{name}")
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ValueError(
            f"{archive}: unreadable archive ({error}); delete it and download it again"
        ) from error
    missing = sorted(wanted - {f"{FOLDER}/{n}" for n in batches})
    if missing:
        raise ValueError(
            f"{archive}: missing members {', '.join(missing)}; delete it and download it again"
        )
    return _assemble(batches)


def load_cifar10_raw(
    data_dir: str | os.PathLike[str] | None = None, *, download: bool = True
) -> RawData:
    """CIFAR-10's official splits {"train": 50,000, "test": 10,000} as uint8 (N, 32, 32, 3).

    Sources, in order: `<data_dir>/cifar10/cifar-10-batches-py/`; `<data_dir>/cifar10/
    cifar-10-python.tar.gz`; a download of that archive (md5 checked). Else DataNotFoundError.
    """
    folder = dataset_dir(data_dir, NAME)
    tried: list[str] = []
    extracted = folder / FOLDER
    names = [n for batch_names in BATCHES.values() for n in batch_names]
    missing = [n for n in names if not (extracted / n).is_file()]
    if not missing:
        return _announced(RawData(_read_folder(extracted), f"files in {extracted}"))
    tried.append(f"folder {extracted}: missing {', '.join(missing)}")

    archive = folder / ARCHIVE
    if archive.is_file():
        return _announced(RawData(_read_archive(archive), f"files in {folder} ({ARCHIVE})"))
    tried.append(f"archive {archive}: not found")

    if download:
        mirror = fetch_files([(ARCHIVE, ARCHIVE_MD5)], MIRRORS, folder, tried)
        if mirror is not None:
            source = f"downloaded from {mirror}{ARCHIVE}"
            return _announced(RawData(_read_archive(archive), source))
    else:
        tried.append(f"download from {MIRRORS[0]}{ARCHIVE}: not tried (download=False)")

    expected = [
        f"{ARCHIVE} (md5 {ARCHIVE_MD5}), or",
        f"{FOLDER}/ with {', '.join(names)}",
    ]
    raise not_found(NAME, folder, expected, tried)


def _announced(raw: RawData) -> RawData:
    announce(f"{NAME}: {raw.source}")
    return raw

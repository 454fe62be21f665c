"""The IDX format of MNIST and Fashion-MNIST, gzipped or not, with strict validation."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .sources import RawData, announce, fetch_files, not_found

__all__ = [
    "IDX_FILES",
    "download_idx_or_fail",
    "local_idx",
    "find_idx_file",
    "load_idx_folder",
    "missing_idx_files",
    "read_idx",
]

# The four files of an MNIST-style dataset, by their canonical (uncompressed) names.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_UBYTE = 0x08


def _corrupt(path: Path, why: str) -> ValueError:
    return ValueError(f"{path}: corrupt IDX file ({why}); delete it and download it again")


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read an unsigned-byte IDX file (.gz detected by content) into a uint8 array.

    The header is checked: magic 0x0000 08 <ndim>, the dimensions, and that the file holds
    exactly prod(dims) bytes after them.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        is_gzip = handle.read(2) == b"\x1f\x8b"
    try:
        with gzip.open(path, "rb") if is_gzip else open(path, "rb") as handle:
            data = handle.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise _corrupt(path, f"cannot decompress: {error}") from error

    if len(data) < 4:
        raise _corrupt(path, f"only {len(data)} bytes")
    zero, type_code, dims_count = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code != _UBYTE or not 1 <= dims_count <= 4:
        raise _corrupt(path, f"bad magic number 0x{data[:4].hex()}, expected 0x000008NN")
    if ndim is not None and dims_count != ndim:
        raise _corrupt(path, f"{dims_count} dimensions, expected {ndim}")
    header = 4 + 4 * dims_count
    if len(data) < header:
        raise _corrupt(path, "truncated header")
    shape = struct.unpack(f">{dims_count}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "trailing bytes"
        raise _corrupt(path, f"{what}: {len(data)} bytes for shape {shape}, expected {expected}")
    # bytearray keeps the array writable (torch.from_numpy warns on read-only buffers).
    return np.frombuffer(bytearray(data), dtype=np.uint8, offset=header).reshape(shape)


def find_idx_file(folder: Path, name: str) -> Path | None:
    """`folder/name` or `folder/name.gz`, preferring the uncompressed file."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def missing_idx_files(folder: Path) -> list[str]:
    """Canonical names of the four IDX files that are absent from `folder` (both spellings)."""
    names = [name for pair in IDX_FILES.values() for name in pair]
    return [name for name in names if find_idx_file(folder, name) is None]


def load_idx_folder(
    folder: Path, num_classes: int = 10
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Official splits {"train", "test"}: uint8 images (N, H, W), int64 labels (N,)."""
    splits = {}
    for split, (images_name, labels_name) in IDX_FILES.items():
        images_path = find_idx_file(folder, images_name)
        labels_path = find_idx_file(folder, labels_name)
        if images_path is None or labels_path is None:
            raise FileNotFoundError(f"{folder}: missing {images_name} or {labels_name}")
        images = read_idx(images_path, ndim=3)
        labels = read_idx(labels_path, ndim=1).astype(np.int64)
        if len(images) != len(labels):
            raise _corrupt(
                labels_path, f"{len(labels)} labels for {len(images)} images in {images_path.name}"
            )
        if labels.size and labels.max() >= num_classes:
            raise _corrupt(labels_path, f"label {labels.max()} >= {num_classes} classes")
        splits[split] = (images, labels)
    return splits


def local_idx(name: str, folder: Path, tried: list[str]) -> RawData | None:
    """The IDX files already in `folder`, or None (noting what is missing in `tried`)."""
    missing = missing_idx_files(folder)
    if missing:
        tried.append(f"IDX files in {folder}: missing {', '.join(missing)} (.gz or not)")
        return None
    raw = RawData(load_idx_folder(folder), f"IDX files in {folder}")
    announce(f"{name}: {raw.source}")
    return raw


def download_idx_or_fail(
    name: str,
    folder: Path,
    md5: dict[str, str],
    mirrors: list[str],
    tried: list[str],
    download: bool,
) -> RawData:
    """The last resorts of an IDX dataset: a checksummed download into `folder`, else the one
    error that lists the files expected and every source `tried`."""
    if download:
        mirror = fetch_files(md5.items(), mirrors, folder, tried)
        if mirror is not None:
            raw = RawData(load_idx_folder(folder), f"downloaded from {mirror}")
            announce(f"{name}: {raw.source}")
            return raw
    else:
        tried.append(f"download from {', '.join(mirrors)}: not tried (download=False)")
    expected = [f"{f}.gz (or uncompressed)" for pair in IDX_FILES.values() for f in pair]
    raise not_found(name, folder, expected, tried)

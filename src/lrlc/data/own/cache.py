"""`folder:PATH`: decoding a whole folder once and caching the arrays."""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..sources import RawData, dataset_dir, load_npz, save_npz
from .budget import check_fits_in_memory
from .folder import ImageFolderListing, load_image, scan_image_folder
from .names import (
    _MAX_LISTED,
    CACHE_FOLDER,
    CACHE_VERSION,
    FolderOptions,
    OwnData,
    _announced,
    _short,
)


def folder_cache_path(
    listing: ImageFolderListing,
    options: FolderOptions,
    data_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """`<data_dir>/own/folder-<name>-<settings>-<files>.npz` for this listing and options.

    <settings> hashes the folder's absolute path, the options and the decoder version;
    <files> hashes the classes and each file's split, path, label, size and modification time.
    """
    root = listing.root.resolve()
    settings = {"root": str(root), "options": options.text(), "version": CACHE_VERSION}
    settings_key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return dataset_dir(data_dir, CACHE_FOLDER) / (
        f"{_cache_prefix(root, settings_key)}{files_digest(listing)[:16]}.npz"
    )


def files_digest(listing: ImageFolderListing) -> str:
    """sha256 of the classes and each file's split, path (relative to the root), label, size
    and modification time: it changes when a file does, without reading any file."""
    digest = hashlib.sha256(json.dumps(listing.classes).encode())
    for split in sorted(listing.files):
        digest.update(f"\0{split}:{listing.folders[split].name}\0".encode())
        for path, label in listing.files[split]:
            stat = os.stat(path)
            relative = path.relative_to(listing.root).as_posix()
            digest.update(f"{relative}\0{label}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _cache_prefix(root: Path, settings_key: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", root.name)[:40] or "root"
    return f"folder-{slug}-{settings_key[:12]}-"


def load_folder_raw(
    root: str | os.PathLike[str],
    options: FolderOptions | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> OwnData:
    """An ImageFolder tree as uint8 arrays (N, H, W, C), decoded once and then cached."""
    options = options if options is not None else FolderOptions()
    listing = scan_image_folder(root)
    check_fits_in_memory(listing, options)
    cache = folder_cache_path(listing, options, data_dir)
    splits = _read_cache(cache, listing)
    if splits is None:
        splits = {
            split: (_decode_all(listing, split, options), listing.labels(split))
            for split in listing.files
        }
        _write_cache(cache, splits)
    return _announced(
        OwnData(
            raw=RawData(
                splits,
                f"image folder {listing.root.resolve()} ({len(listing.classes)} classes; "
                f"{folder_counts(listing)} images; decoded cache {cache})",
            ),
            num_classes=len(listing.classes),
            input_shape=(options.channels, options.height, options.width),
            scale="unit",
            fingerprint_name=f"folder@{options.text()}",
            classes=listing.classes,
            protocol=folder_protocol(listing, options),
        )
    )


def folder_counts(listing: ImageFolderListing) -> str:
    """Images per folder, e.g. "train/ 1000, val/ 50"."""
    return ", ".join(
        f"{listing.folders[s].name}/ {len(listing.files[s])}" for s in ("train", "val", "test")
        if s in listing.files
    )  # fmt: skip


def folder_protocol(listing: ImageFolderListing, options: FolderOptions) -> dict[str, Any]:
    """What a run records of a folder's splits, classes and decoding (read in memory or
    streamed alike)."""
    if listing.folders["test"].name == "val":
        test_text = "val/ (there is no test/ folder: val/ is the test split)"
    else:
        test_text = "test/"
    protocol: dict[str, Any] = {
        "test": test_text,
        "classes": list(listing.classes),
        "images": options.describe(),
    }
    if not listing.val_from_train:
        protocol["val"] = "val/"
    return protocol


def _decode_all(listing: ImageFolderListing, split: str, options: FolderOptions) -> np.ndarray:
    files = listing.files[split]
    images = np.empty((len(files), options.height, options.width, options.channels), np.uint8)
    bad = []
    where = listing.folders[split]
    for i, (path, _) in enumerate(tqdm(files, desc=f"decoding {where}", unit="img", disable=None)):
        try:
            images[i] = load_image(path, options)
        except MemoryError:
            raise
        except Exception as error:  # noqa: BLE001 - any decoder failure names the file
            bad.append(f"{path}: {_short(error)}")
    if bad:
        more = f"\n  ... and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        raise ValueError(
            f"{len(bad)} image file(s) in {where} cannot be decoded:\n  "
            + "\n  ".join(bad[:_MAX_LISTED])
            + more
            + "\nReplace or delete each one (or move it out of the folder), then load again"
        )
    return images


def _read_cache(
    cache: Path, listing: ImageFolderListing
) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    if not cache.is_file():
        return None
    keys = [f"{s}_{k}" for s in listing.files for k in "xy"]
    try:
        arrays = load_npz(cache, keys)
    except ValueError as error:
        warnings.warn(f"{error}; decoding the images again", stacklevel=3)
        return None
    splits = {s: (arrays[f"{s}_x"], arrays[f"{s}_y"]) for s in listing.files}
    if any(
        len(x) != len(listing.files[s]) or not np.array_equal(y, listing.labels(s))
        for s, (x, y) in splits.items()
    ):
        warnings.warn(
            f"{cache}: does not match the folder; decoding the images again", stacklevel=3
        )
        return None
    return splits


def _write_cache(cache: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    arrays = {f"{s}_{k}": a for s, pair in splits.items() for k, a in zip("xy", pair, strict=True)}
    try:
        save_npz(cache, **arrays)
    except OSError as error:
        warnings.warn(
            f"could not write the decoded-image cache {cache} ({_short(error)}); the next "
            "load decodes the images again",
            stacklevel=3,
        )
        return
    # Caches of the same folder and options made from an older file listing are stale.
    prefix = cache.name[: -len("0123456789abcdef.npz")]
    for old in cache.parent.glob(f"{prefix}*.npz"):
        if old != cache:
            try:
                old.unlink(missing_ok=True)
            except OSError:  # not ours to delete (shared folder): harmless, just disk space
                pass

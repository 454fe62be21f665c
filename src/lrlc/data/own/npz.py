"""`npz:PATH`: arrays in one .npz file, read without pickle."""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..sources import DataNotFoundError, RawData
from .names import NPZ_LAYOUT, OwnData, _announced, _short

# --- .npz ---------------------------------------------------------------------------------


def load_npz_raw(path: str | os.PathLike[str]) -> OwnData:
    """Arrays of an .npz file, checked; every malformed case is one ValueError naming it."""
    path = Path(path).expanduser()
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DataNotFoundError(
            f"npz file {path} {what}. Write one with numpy.savez(path, x_train=..., "
            f"y_train=..., x_test=..., y_test=...) ({NPZ_LAYOUT}), or fix the path after "
            "'npz:' (a relative path is relative to the current folder)",
            folder=path.parent,
            expected=[path.name],
            tried=[f"file {path}"],
        )
    arrays = _read_npz(path)
    splits = {}
    for split in ("train", "val", "test"):
        if f"x_{split}" in arrays:
            x, y = _check_split(path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
            splits[split] = (x, y)
    first = splits["train"][0]
    for split, (x, _) in splits.items():
        if x.shape[1:] != first.shape[1:]:
            raise ValueError(
                f"{path}: x_{split} has images of (H, W, C) {x.shape[1:]}, x_train "
                f"{first.shape[1:]}; every split needs the same image size and channels"
            )
        if (x.dtype == np.uint8) != (first.dtype == np.uint8):
            raise ValueError(
                f"{path}: x_{split} is {x.dtype}, x_train {first.dtype}; use uint8 (0..255) "
                "or float for all splits alike"
            )
    num_classes = _num_classes(path, splits)
    height, width, channels = first.shape[1:]
    has_val = "val" in splits
    return _announced(
        OwnData(
            raw=RawData(splits, f"arrays in {path.resolve()}"),
            num_classes=num_classes,
            input_shape=(channels, height, width),
            scale="unit" if first.dtype == np.uint8 else "float",
            fingerprint_name="npz",
            classes=None,
            protocol={
                "test": "x_test, y_test of the .npz",
                **({"val": "x_val, y_val of the .npz"} if has_val else {}),
            },
        )
    )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"{path}: not a readable .npz file ({_short(error)}). Write it with "
            f"numpy.savez(path, x_train=..., ...) holding {NPZ_LAYOUT}"
        ) from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{path}: holds one array (a .npy file), not an .npz archive of named arrays; "
            f"write it with numpy.savez(path, x_train=..., ...) holding {NPZ_LAYOUT}"
        )
    with archive:
        keys = set(archive.files)
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in keys]
        if "x_val" in keys and "y_val" not in keys:
            missing.append("y_val (x_val is there)")
        if "y_val" in keys and "x_val" not in keys:
            missing.append("x_val (y_val is there)")
        if missing:
            raise ValueError(
                f"{path}: missing array(s) {', '.join(missing)}; it has "
                f"{', '.join(sorted(keys)) or 'no arrays'}. Expected {NPZ_LAYOUT}"
            )
        wanted = [f"{a}_{s}" for s in ("train", "val", "test") for a in "xy" if f"x_{s}" in keys]
        arrays = {}
        for key in wanted:
            try:
                arrays[key] = archive[key]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
                hint = (
                    "object arrays (pickled Python objects) are refused: save plain numeric arrays"
                    if "pickle" in str(error)
                    else "the file is damaged: write it again"
                )
                raise ValueError(
                    f"{path}: array {key} is unreadable ({_short(error)}); {hint}"
                ) from error
    return arrays


def _check_split(path: Path, split: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    xs, ys = f"x_{split}", f"y_{split}"
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{path}: {xs} has shape {x.shape}; expected images (N, H, W) or (N, H, W, C)"
        )
    if x.ndim == 4 and x.shape[3] > 4 and x.shape[1] <= 4:
        raise ValueError(
            f"{path}: {xs} has shape {x.shape}, which looks channels-first (N, C, H, W); "
            f"save it channels-last: {xs}.transpose(0, 2, 3, 1)"
        )
    if len(x) == 0:
        raise ValueError(f"{path}: {xs} holds no images")
    if x.ndim == 3:
        x = x[..., None]  # (N, H, W) is one channel
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{path}: {xs} is {x.dtype}; images must be uint8 (0..255, scaled to [0, 1]) or "
            f"float (used as given): convert with {xs}.astype(np.uint8) or .astype(np.float32)"
        )
    if x.dtype != np.uint8:
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError(f"{path}: {xs} holds NaN or infinite values (as float32)")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{path}: {ys} is {y.dtype}; labels must be integer class indices 0..K-1 "
            f"(e.g. {ys}.astype(np.int64) if the values are whole numbers)"
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # Keras-style (N, 1) labels
    if y.ndim != 1:
        raise ValueError(f"{path}: {ys} has shape {y.shape}; expected labels (N,) or (N, 1)")
    if len(y) != len(x):
        raise ValueError(
            f"{path}: {xs} has {len(x)} images but {ys} has {len(y)} labels; they must match"
        )
    if y.min() < 0:
        raise ValueError(
            f"{path}: {ys} has the label {int(y.min())}; labels must be class indices 0..K-1"
        )
    return np.ascontiguousarray(x), y.astype(np.int64)


def _num_classes(path: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> int:
    top = max(int(y.max()) for _, y in splits.values())
    total = sum(len(y) for _, y in splits.values())
    if top + 1 < 2:
        raise ValueError(f"{path}: every label is 0; a classifier needs at least 2 classes")
    if top >= total:
        where = next(s for s, (_, y) in splits.items() if int(y.max()) == top)
        raise ValueError(
            f"{path}: y_{where} has the label {top} but there are only {total} images, so "
            "most of 0..K-1 would be empty classes; labels must be class indices 0..K-1: "
            "remap them with numpy.unique(y, return_inverse=True)"
        )
    return top + 1

"""Your own data: `npz:PATH` (arrays in one .npz file) and `folder:PATH[@OPTIONS]` (image folders).

Both are names for `load_dataset` (and so for `--dataset`), next to the built-in ones:

``npz:PATH``
    A .npz file (`numpy.savez`) with the arrays ``x_train, y_train, x_test, y_test`` and
    optionally ``x_val, y_val``. Images (N, H, W) or (N, H, W, C), channels last; uint8 is
    scaled to [0, 1] (x / 255), float is used as given (as float32). Labels are integers
    0..K-1, shape (N,) or (N, 1); K = the largest label of all splits + 1. Read with
    ``numpy.load(allow_pickle=False)``: no code in the file is ever run.

``folder:PATH[@OPTIONS]``
    The ImageFolder layout ``PATH/train/<class>/<image>``, plus ``PATH/test/<class>/...``
    and/or ``PATH/val/<class>/...``. Classes are the sorted subfolder names of ``train/``
    (label i = i-th name); ``val/`` and ``test/`` must have the same class folders. With both
    val/ and test/, each is its own split. With only test/, or only val/ (the ImageNet layout),
    that folder is the test split, and validation is a stratified 10% of train/. OPTIONS,
    comma-separated after the last ``@``: the size ``N`` (N x N) or ``HxW`` (height x width;
    default 32), ``gray`` (1 channel) or ``rgb`` (3 channels, the default), and ``crop``
    (centre-crop each image to the target aspect ratio before resizing; default: squash).
    E.g. ``folder:/data/faces``, ``folder:/data/faces@64``, ``folder:/data/digits@28,gray``.

Images are decoded with PIL: EXIF orientation applied, 16-bit grey scaled to 8 bits,
transparent pixels composited over black, converted to RGB (or L with ``gray``), resized with
bicubic filtering, kept as uint8 and scaled to [0, 1] by `load_dataset`. Any image that
cannot be decoded stops the load with one error listing the files (nothing is skipped
silently). The decoded arrays are cached as an .npz in ``<data_dir>/own/``, keyed by the
folder, the options and every file's path, label, size and modification time; a later load
lists and stats the files and, if nothing changed, reads only the cache.

`scan_image_folder` (the (path, label) list of every split) and `load_image` (one file to a
uint8 array) are what a streaming loader for data larger than memory can reuse.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from .sources import DataNotFoundError, RawData, announce, dataset_dir, load_npz, save_npz

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "FOLDER_PREFIX",
    "IMAGE_EXTENSIONS",
    "NPZ_PREFIX",
    "FolderOptions",
    "ImageFolderListing",
    "OwnData",
    "OwnName",
    "folder_cache_path",
    "is_own_name",
    "load_folder_raw",
    "load_image",
    "load_npz_raw",
    "load_own",
    "parse_own_name",
    "scan_image_folder",
]

NPZ_PREFIX = "npz:"
FOLDER_PREFIX = "folder:"
DEFAULT_IMAGE_SIZE = 32
CACHE_FOLDER = "own"  # under the data root, beside mnist/, cifar10/, ...
CACHE_VERSION = 1  # bump when the decoding changes, so that old caches are not reused
IMAGE_EXTENSIONS = (
    ".bmp",
    ".gif",
    ".jpeg",
    ".jpg",
    ".pbm",
    ".pgm",
    ".png",
    ".ppm",
    ".tif",
    ".tiff",
    ".webp",
)
FOLDER_LAYOUT = (
    "PATH/train/<class>/<image> and PATH/test/<class>/... (or PATH/val/<class>/..., which "
    "is then the test split), optionally both val/ and test/"
)
NPZ_LAYOUT = "x_train, y_train, x_test, y_test and optionally x_val, y_val"
_SIZE = re.compile(r"(\d+)(?:x(\d+))?")
_MAX_LISTED = 10  # bad images named in one error


# --- names --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderOptions:
    """How the images of a folder become arrays: size (H, W), colour mode, crop or squash."""

    height: int = DEFAULT_IMAGE_SIZE
    width: int = DEFAULT_IMAGE_SIZE
    mode: str = "rgb"  # "rgb" (3 channels) or "gray" (1 channel)
    crop: bool = False  # centre-crop to the target aspect ratio first; else squash

    def __post_init__(self) -> None:
        if self.mode not in ("rgb", "gray"):
            raise ValueError(f"mode must be 'rgb' or 'gray', got {self.mode!r}")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"image size must be >= 1, got {self.height}x{self.width}")

    @property
    def channels(self) -> int:
        return 3 if self.mode == "rgb" else 1

    def text(self) -> str:
        """Canonical option text, e.g. "32x32,rgb" or "64x48,gray,crop"."""
        return f"{self.height}x{self.width},{self.mode}" + (",crop" if self.crop else "")

    def describe(self) -> str:
        how = "centre crop to the aspect ratio, then " if self.crop else ""
        mode = "RGB" if self.mode == "rgb" else "grey (L)"
        return (
            f"{mode}, {how}bicubic resize to {self.height}x{self.width} (H x W), EXIF "
            "orientation applied, 16-bit grey scaled to 8 bits, alpha over black"
        )


@dataclass(frozen=True)
class OwnName:
    """A parsed `npz:PATH` or `folder:PATH[@OPTIONS]` name."""

    kind: str  # "npz" or "folder"
    path: Path
    options: FolderOptions | None = None  # folders only

    def canonical(self) -> str:
        """The name without its path (kind and options): what the fingerprint hashes."""
        return self.kind if self.options is None else f"{self.kind}@{self.options.text()}"


def is_own_name(name: object) -> bool:
    """True for names of the form `npz:...` or `folder:...`."""
    return isinstance(name, str) and name.startswith((NPZ_PREFIX, FOLDER_PREFIX))


def parse_own_name(name: str) -> OwnName:
    """Split `npz:PATH` or `folder:PATH[@OPTIONS]`; a malformed name is one ValueError.

    A relative PATH is relative to the current folder; `~` is expanded. For folders, the
    text after the last `@` is read as options unless it contains a path separator; a folder
    whose own name ends in `@something` needs explicit options (`folder:PATH@32`).
    """
    if name.startswith(NPZ_PREFIX):
        text = name[len(NPZ_PREFIX) :]
        if not text:
            raise ValueError(f"{name!r}: give the file after 'npz:', e.g. npz:/data/faces.npz")
        return OwnName("npz", Path(text).expanduser())
    if name.startswith(FOLDER_PREFIX):
        text = name[len(FOLDER_PREFIX) :]
        options = FolderOptions()
        head, at, tail = text.rpartition("@")
        if at and "/" not in tail and "\\" not in tail:
            options = _parse_options(name, tail)
            text = head
        if not text:
            raise ValueError(f"{name!r}: give the folder after 'folder:', e.g. folder:/data/faces")
        return OwnName("folder", Path(text).expanduser(), options)
    raise ValueError(f"{name!r} is not npz:PATH or folder:PATH[@OPTIONS]")


def _parse_options(name: str, tail: str) -> FolderOptions:
    size: tuple[int, int] | None = None
    mode: str | None = None
    crop = False
    for token in tail.split(","):
        word = token.strip().lower()
        match = _SIZE.fullmatch(word)
        if match and size is None:
            size = (int(match[1]), int(match[2] or match[1]))
            if min(size) < 1:
                raise ValueError(f"{name!r}: image size must be at least 1 pixel, got {token!r}")
        elif word in ("rgb", "gray", "grey") and mode is None:
            mode = "rgb" if word == "rgb" else "gray"
        elif word == "crop" and not crop:
            crop = True
        else:
            twice = " (given twice)" if match or word in ("rgb", "gray", "grey", "crop") else ""
            raise ValueError(
                f"{name!r}: unknown option {token!r}{twice} after '@'. Options, comma-separated: "
                f"a size N or HxW (default {DEFAULT_IMAGE_SIZE}), gray or rgb (default rgb), "
                "crop; e.g. folder:/data/faces@64,gray. A folder whose name has '@' in it "
                f"needs explicit options: folder:PATH@{DEFAULT_IMAGE_SIZE}"
            )
    height, width = size or (DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)
    return FolderOptions(height, width, mode or "rgb", crop)


@dataclass
class OwnData:
    """What `load_own` returns: the raw splits plus what the registry needs to build a spec."""

    raw: RawData  # "train", "test" and, when the data has one, "val"
    num_classes: int
    input_shape: tuple[int, int, int]
    scale: str  # "unit" (uint8 / 255) or "float" (as given)
    fingerprint_name: str  # the name without its path
    classes: tuple[str, ...] | None  # folder names, or None for .npz labels
    protocol: dict[str, Any]  # extra protocol entries (val and test origin, classes, decoding)


def load_own(name: str, data_dir: str | os.PathLike[str] | None = None) -> OwnData:
    """Load an `npz:` or `folder:` name (see the module docstring)."""
    parsed = parse_own_name(name)
    if parsed.kind == "npz":
        return load_npz_raw(parsed.path)
    assert parsed.options is not None
    return load_folder_raw(parsed.path, parsed.options, data_dir=data_dir)


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


# --- image folders ------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageFolderListing:
    """Every image file of an ImageFolder tree, by split, with its label.

    `files` has "train" and "test" and, when the tree has both val/ and test/, "val"; without
    "val" the validation split is taken from train (stratified). `folders` says which folder
    each split came from (an ImageNet-style val/ is the "test" split).
    """

    root: Path
    classes: tuple[str, ...]
    files: dict[str, tuple[tuple[Path, int], ...]]
    folders: dict[str, Path]

    @property
    def val_from_train(self) -> bool:
        return "val" not in self.files

    def labels(self, split: str) -> np.ndarray:
        return np.array([label for _, label in self.files[split]], dtype=np.int64)


def scan_image_folder(root: str | os.PathLike[str]) -> ImageFolderListing:
    """List the (path, label) pairs of every split of an ImageFolder tree, checked.

    Classes are the sorted names of the subfolders of train/ (hidden ones, starting with '.',
    are skipped); images are the files with an image extension (IMAGE_EXTENSIONS, any case)
    anywhere below a class folder, sorted by their path. Missing folders raise
    DataNotFoundError; an empty class folder, images outside a class folder, no classes, or
    val/test class folders different from train's raise ValueError.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DataNotFoundError(
            f"image folder {root} {what}. Expected the layout {FOLDER_LAYOUT} (a relative path "
            "is relative to the current folder)",
            folder=root,
            expected=["train/<class>/<image>", "test/<class>/<image> or val/<class>/<image>"],
            tried=[f"folder {root}"],
        )
    present = {s: root / s for s in ("train", "val", "test") if (root / s).is_dir()}
    if "train" not in present or len(present) == 1:
        lacking = "train/" if "train" not in present else "test/ or val/ (the test images)"
        raise DataNotFoundError(
            f"image folder {root} has no {lacking}. Expected the layout {FOLDER_LAYOUT}",
            folder=root,
            expected=["train/<class>/<image>", "test/<class>/<image> or val/<class>/<image>"],
            tried=[f"folder {root}"],
        )
    classes = _class_folders(present["train"])
    if not classes:
        raise ValueError(
            f"{present['train']}: no class folders (no classes). Put each class's images in "
            f"its own subfolder: {FOLDER_LAYOUT}"
        )
    files = {}
    for split, folder in present.items():
        if split != "train":
            _same_classes(folder, _class_folders(folder), present["train"], classes)
        files[split] = tuple(
            (path, label)
            for label, name in enumerate(classes)
            for path in _images_in_class(folder / name)
        )
    folders = dict(present)
    if "val" in files and "test" not in files:  # ImageNet layout: val/ is the test split
        files["test"] = files.pop("val")
        folders["test"] = folders.pop("val")
    return ImageFolderListing(root, tuple(classes), files, folders)


def _class_folders(folder: Path) -> list[str]:
    classes = []
    loose = []
    for entry in _scandir(folder):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            classes.append(entry.name)
        elif entry.name.lower().endswith(IMAGE_EXTENSIONS):
            loose.append(entry.name)
    if loose:
        raise ValueError(
            f"{folder}: images outside a class folder ({', '.join(sorted(loose)[:3])}"
            f"{', ...' if len(loose) > 3 else ''}); put each image in {folder}/<class>/"
        )
    return sorted(classes)


def _same_classes(folder: Path, names: list[str], train: Path, classes: list[str]) -> None:
    if names == classes:
        return
    missing = sorted(set(classes) - set(names))
    extra = sorted(set(names) - set(classes))
    parts = []
    if missing:
        parts.append(f"lacks {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    if extra:
        parts.append(f"has {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''} in addition")
    raise ValueError(
        f"{folder}: its class folders differ from those of {train}: it {' and '.join(parts)}. "
        "Every split needs the same class folders (labels are the sorted folder names)"
    )


def _scandir(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        return list(entries)


def _images_in_class(folder: Path) -> list[Path]:
    found = []
    seen = set()

    def fail(error: OSError) -> None:
        raise error

    for dirpath, dirnames, filenames in os.walk(folder, onerror=fail, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symbolic link back up the tree
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [
            Path(dirpath, f)
            for f in filenames
            if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS)
        ]
    if not found:
        raise ValueError(
            f"{folder}: empty class folder (no image files: {', '.join(IMAGE_EXTENSIONS)}); "
            "add images or remove the folder from every split"
        )
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def load_image(
    path: str | os.PathLike[str], options: FolderOptions = FolderOptions()
) -> np.ndarray:
    """One image file -> uint8 (H, W, C) as `options` says; PIL's errors pass through."""
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)  # also loads the pixels: errors surface here
        image = _to_mode(image, "RGB" if options.mode == "rgb" else "L")
        if options.crop:
            image = _centre_crop(image, options.width / options.height)
        image = image.resize((options.width, options.height), Image.BICUBIC)
    array = np.asarray(image, dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


def _to_mode(image: Image.Image, mode: str) -> Image.Image:
    if image.mode.startswith("I;16"):
        # PIL's own conversion clips 16-bit values at 255; scale them instead.
        scaled = np.rint(np.asarray(image, dtype=np.float64) / 257)
        image = Image.fromarray(scaled.clip(0, 255).astype(np.uint8), "L")
    alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if alpha:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return image if image.mode == mode else image.convert(mode)


def _centre_crop(image: Image.Image, aspect: float) -> Image.Image:
    width, height = image.size
    if width > height * aspect:
        new = max(1, round(height * aspect))
        left = (width - new) // 2
        return image.crop((left, 0, left + new, height))
    new = max(1, round(width / aspect))
    top = (height - new) // 2
    return image.crop((0, top, width, top + new))


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
    digest = hashlib.sha256(json.dumps(listing.classes).encode())
    for split in sorted(listing.files):
        digest.update(f"\0{split}:{listing.folders[split].name}\0".encode())
        for path, label in listing.files[split]:
            stat = os.stat(path)
            relative = path.relative_to(listing.root).as_posix()
            digest.update(f"{relative}\0{label}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return dataset_dir(data_dir, CACHE_FOLDER) / (
        f"{_cache_prefix(root, settings_key)}{digest.hexdigest()[:16]}.npz"
    )


def _cache_prefix(root: Path, settings_key: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", root.name)[:40] or "root"
    return f"folder-{slug}-{settings_key[:12]}-"


def load_folder_raw(
    root: str | os.PathLike[str],
    options: FolderOptions = FolderOptions(),
    data_dir: str | os.PathLike[str] | None = None,
) -> OwnData:
    """An ImageFolder tree as uint8 arrays (N, H, W, C), decoded once and then cached."""
    listing = scan_image_folder(root)
    cache = folder_cache_path(listing, options, data_dir)
    splits = _read_cache(cache, listing)
    if splits is None:
        splits = {
            split: (_decode_all(listing, split, options), listing.labels(split))
            for split in listing.files
        }
        _write_cache(cache, splits)
    counts = ", ".join(
        f"{listing.folders[s].name}/ {len(listing.files[s])}" for s in ("train", "val", "test")
        if s in listing.files
    )  # fmt: skip
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
    return _announced(
        OwnData(
            raw=RawData(
                splits,
                f"image folder {listing.root.resolve()} ({len(listing.classes)} classes; "
                f"{counts} images; decoded cache {cache})",
            ),
            num_classes=len(listing.classes),
            input_shape=(options.channels, options.height, options.width),
            scale="unit",
            fingerprint_name=f"folder@{options.text()}",
            classes=listing.classes,
            protocol=protocol,
        )
    )


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


def _announced(data: OwnData) -> OwnData:
    announce(data.raw.source)
    return data


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."

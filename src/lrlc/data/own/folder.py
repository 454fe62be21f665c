"""`folder:PATH`: scanning an ImageFolder tree and decoding its images."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..sources import DataNotFoundError
from .names import FOLDER_LAYOUT, IMAGE_EXTENSIONS, FolderOptions

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


def load_image(path: str | os.PathLike[str], options: FolderOptions | None = None) -> np.ndarray:
    """One image file -> uint8 (H, W, C) as `options` says; PIL's errors pass through."""
    options = options if options is not None else FolderOptions()
    return image_array(fit_image(open_image(path, options.mode), options))


def fit_image(image: Image.Image, options: FolderOptions) -> Image.Image:
    """A decoded image at the size of `options`: centre-cropped to its aspect ratio first if
    `options.crop`, then resized bicubically."""
    if options.crop:
        image = _centre_crop(image, options.width / options.height)
    return image.resize((options.width, options.height), Image.BICUBIC)


def open_image(path: str | os.PathLike[str], mode: str = "rgb") -> Image.Image:
    """One image file, decoded: EXIF orientation applied, 16-bit grey scaled to 8 bits,
    transparency over black, in RGB ("rgb") or L ("gray"); PIL's errors pass through."""
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)  # also loads the pixels: errors surface here
        return _to_mode(image, "RGB" if mode == "rgb" else "L")


def image_array(image: Image.Image) -> np.ndarray:
    """A PIL image as uint8 (H, W, C)."""
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

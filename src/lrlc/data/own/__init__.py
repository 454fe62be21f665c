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

A folder whose decoded images would exceed the memory budget (`budget.py`: half of the
machine's memory, or $LRLC_MEMORY_BUDGET) is refused before any image is decoded, with the
name that streams it instead: ``folder:PATH@OPTIONS,stream`` reads each image from its file
when a batch needs it (`lrlc.data.stream`, through `open_dataset`).
"""

from __future__ import annotations

import os

from .budget import check_fits_in_memory, memory_budget
from .cache import files_digest, folder_cache_path, folder_counts, folder_protocol, load_folder_raw
from .folder import (
    ImageFolderListing,
    fit_image,
    image_array,
    load_image,
    open_image,
    scan_image_folder,
)
from .names import (
    DEFAULT_IMAGE_SIZE,
    FOLDER_PREFIX,
    IMAGE_EXTENSIONS,
    NPZ_PREFIX,
    FolderOptions,
    OwnData,
    OwnName,
    is_own_name,
    parse_own_name,
)
from .npz import load_npz_raw

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "FOLDER_PREFIX",
    "IMAGE_EXTENSIONS",
    "NPZ_PREFIX",
    "FolderOptions",
    "ImageFolderListing",
    "OwnData",
    "OwnName",
    "check_fits_in_memory",
    "files_digest",
    "fit_image",
    "folder_cache_path",
    "folder_counts",
    "folder_protocol",
    "image_array",
    "is_own_name",
    "load_folder_raw",
    "load_image",
    "load_npz_raw",
    "load_own",
    "memory_budget",
    "open_image",
    "parse_own_name",
    "scan_image_folder",
]


def load_own(name: str, data_dir: str | os.PathLike[str] | None = None) -> OwnData:
    """Load an `npz:` or `folder:` name (see the module docstring)."""
    parsed = parse_own_name(name)
    if parsed.kind == "npz":
        return load_npz_raw(parsed.path)
    assert parsed.options is not None
    return load_folder_raw(parsed.path, parsed.options, data_dir=data_dir)

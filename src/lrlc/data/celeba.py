"""CelebA at 32 x 32 ("celeba32"): crop, bicubic resize, label = attribute `Male`.

Each aligned 178 x 218 (W x H) JPEG is cropped to image[40:178, 20:158] (138 x 138), resized
to 32 x 32 with PIL's bicubic filter; the official partition gives train/val/test. Decoding the
202,599 JPEGs takes minutes, so the uint8 result is cached as an .npz named by a hash of these
settings, and later loads read only that file (the raw files may then be removed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO

import numpy as np
from PIL import Image
from tqdm import tqdm

from .sources import RawData, announce, dataset_dir, load_npz, not_found, save_npz

__all__ = [
    "check_image_name",
    "load_celeba_raw",
    "preprocess_image",
    "read_attribute",
    "read_partition",
]

NAME = "celeba32"
FOLDER = "celeba"
IMAGES_DIR = "img_align_celeba"
IMAGES_ZIP = "img_align_celeba.zip"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
HOMEPAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
ALIGNED_SIZE = (178, 218)  # PIL order: (width, height)
CROP_BOX = (20, 40, 158, 178)  # PIL (left, upper, right, lower) == image[40:178, 20:158]
SIZE = 32
ATTRIBUTE = "Male"
PARTITIONS = {"0": "train", "1": "val", "2": "test"}
SETTINGS = {
    "rows": [CROP_BOX[1], CROP_BOX[3]],
    "cols": [CROP_BOX[0], CROP_BOX[2]],
    "size": SIZE,
    "resample": "PIL bicubic",
    "label": f"{ATTRIBUTE}: 1 -> 1, -1 -> 0",
    "partition": "official list_eval_partition.txt",
    "version": 1,
}
_KEYS = tuple(f"{s}_{k}" for s in ("train", "val", "test") for k in ("x", "y"))


def cache_path(folder: Path) -> Path:
    """The .npz cache for the current preprocessing settings."""
    key = hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode()).hexdigest()[:12]
    return folder / f"{NAME}-{key}.npz"


def preprocess_image(image: Image.Image, where: str = "image") -> np.ndarray:
    """Aligned CelebA image (218 x 178) -> uint8 (32, 32, 3): crop, then bicubic resize."""
    if image.size != ALIGNED_SIZE:
        width, height = image.size
        raise ValueError(
            f"{where}: {width} x {height} pixels (W x H), expected the aligned 178 x 218"
        )
    cropped = image.convert("RGB").crop(CROP_BOX)
    return np.asarray(cropped.resize((SIZE, SIZE), Image.BICUBIC), dtype=np.uint8)


def _unsafe_name_problem(name: str) -> str | None:
    """Why `name` is not a plain file name inside the image folder, or None if it is.

    Names from the list files are joined to the image folder, so one such as ``../x.jpg``,
    ``/etc/x.jpg`` or ``C:x.jpg`` would read a file outside it. CelebA lists plain names
    (000001.jpg), so anything else is refused rather than normalised.
    """
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).anchor:
        return "is an absolute path or names a drive"
    if ".." in name:
        return "contains '..'"
    if "/" in name or "\\" in name:  # both, whatever the platform: the file may come from either
        return "contains a path separator"
    if name == ".":
        return "names the folder itself"
    return None


def check_image_name(name: str, source: Path, line_no: int) -> str:
    """`name` if it is a plain image file name; else one ValueError naming the entry and the
    list file and line it came from."""
    problem = _unsafe_name_problem(name)
    if problem is not None:
        raise ValueError(
            f"{source}:{line_no}: image name {name!r} {problem}; CelebA lists plain file names "
            f"such as 000001.jpg inside {IMAGES_DIR}/, so the file is damaged or not CelebA's: "
            f"fix the entry or download {source.name} again"
        )
    return name


def read_attribute(path: Path, attribute: str = ATTRIBUTE) -> dict[str, int]:
    """`list_attr_celeba.txt` -> {filename: 1 if attribute == 1 else 0}."""
    with open(path) as handle:
        first = handle.readline().split()
        names = handle.readline().split()
        if len(first) != 1 or not first[0].isdigit() or attribute not in names:
            raise ValueError(
                f"{path}: expected a count line, then attribute names with {attribute}"
            )
        column = names.index(attribute) + 1
        labels = {}
        for line_no, line in enumerate(handle, start=3):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != len(names) + 1 or fields[column] not in ("1", "-1"):
                raise ValueError(f"{path}:{line_no}: expected a filename and {len(names)} x +-1")
            name = check_image_name(fields[0], path, line_no)
            labels[name] = 1 if fields[column] == "1" else 0
    if len(labels) != int(first[0]):
        raise ValueError(f"{path}: {len(labels)} rows, the header says {first[0]}; re-download it")
    return labels


def read_partition(path: Path) -> list[tuple[str, str]]:
    """`list_eval_partition.txt` -> [(filename, "train" | "val" | "test")] in file order."""
    entries = []
    with open(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in PARTITIONS:
                raise ValueError(f"{path}:{line_no}: expected 'filename 0|1|2'")
            name = check_image_name(fields[0], path, line_no)
            entries.append((name, PARTITIONS[fields[1]]))
    return entries


@contextlib.contextmanager
def _image_opener(folder: Path) -> Iterator:
    """Yield `open(filename) -> binary file` over the image folder, else the zip."""
    images = folder / IMAGES_DIR
    if images.is_dir():
        root = images.resolve()

        def open_file(name: str) -> IO[bytes]:
            path = images / name
            # A plain name can still lead out through a symbolic link in the folder.
            if not path.resolve().is_relative_to(root):
                raise ValueError(
                    f"{folder / PARTITION_FILE}: image {name!r} resolves to {path.resolve()}, "
                    f"outside {root}; put the image itself in {IMAGES_DIR}/ (or fix the entry, "
                    f"or download {PARTITION_FILE} and the images again)"
                )
            if not path.is_file():
                raise ValueError(
                    f"{path}: listed in {PARTITION_FILE} but missing; the image "
                    "folder is incomplete, download it again"
                )
            return open(path, "rb")

        yield open_file
        return
    with zipfile.ZipFile(folder / IMAGES_ZIP) as archive:
        members = {
            info.filename.rsplit("/", 1)[-1]: info
            for info in archive.infolist()
            if not info.is_dir()
        }

        def open_member(name: str) -> IO[bytes]:
            if name not in members:
                raise ValueError(
                    f"{folder / IMAGES_ZIP}: {name} is missing; the zip is "
                    "incomplete, download it again"
                )
            return archive.open(members[name])

        yield open_member


def _preprocess_all(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    entries = read_partition(folder / PARTITION_FILE)
    labels = read_attribute(folder / ATTR_FILE)
    images = np.empty((len(entries), SIZE, SIZE, 3), dtype=np.uint8)
    with _image_opener(folder) as open_image:
        for i, (name, _) in enumerate(tqdm(entries, desc="CelebA crop + resize", unit="img")):
            with open_image(name) as handle, Image.open(handle) as image:
                images[i] = preprocess_image(image, where=name)
    missing = [name for name, _ in entries if name not in labels]
    if missing:
        raise ValueError(
            f"{folder / ATTR_FILE}: no attributes for {missing[0]} and "
            f"{len(missing) - 1} more images; download it again"
        )
    split_of = np.array([split for _, split in entries])
    targets = np.array([labels[name] for name, _ in entries], dtype=np.int64)
    return {
        split: (images[split_of == split], targets[split_of == split])
        for split in ("train", "val", "test")
    }


def load_celeba_raw(
    data_dir: str | os.PathLike[str] | None = None, *, download: bool = True
) -> RawData:
    """CelebA's official splits {"train", "val", "test"} as uint8 (N, 32, 32, 3), labels Male.

    Sources, in order: the preprocessed cache in `<data_dir>/celeba`; the raw files there
    (img_align_celeba/ or img_align_celeba.zip, list_attr_celeba.txt, list_eval_partition.txt),
    preprocessed once. There is no automatic download (the authors distribute CelebA through
    Google Drive), so `download` changes nothing; without files: DataNotFoundError.
    """
    folder = dataset_dir(data_dir, FOLDER)
    cache = cache_path(folder)
    source = f"files in {folder} (preprocessed cache {cache.name})"
    if cache.is_file():
        arrays = load_npz(cache, _KEYS)
        splits = {s: (arrays[f"{s}_x"], arrays[f"{s}_y"]) for s in ("train", "val", "test")}
        return _announced(RawData(splits, source))
    tried = [f"preprocessed cache {cache}: not found"]

    missing = [name for name in (ATTR_FILE, PARTITION_FILE) if not (folder / name).is_file()]
    if not (folder / IMAGES_DIR).is_dir() and not (folder / IMAGES_ZIP).is_file():
        missing.insert(0, f"{IMAGES_DIR}/ or {IMAGES_ZIP}")
    if not missing:
        splits = _preprocess_all(folder)
        save_npz(
            cache,
            **{
                f"{s}_{k}": a for s, pair in splits.items() for k, a in zip("xy", pair, strict=True)
            },
        )
        return _announced(RawData(splits, source))
    tried.append(f"files in {folder}: missing {', '.join(missing)}")
    tried.append(
        f"download: none automatic (CelebA is distributed through Google Drive, see {HOMEPAGE})"
    )
    expected = [
        f"{IMAGES_DIR}/ (the 202,599 aligned 178 x 218 JPEGs) or {IMAGES_ZIP}",
        ATTR_FILE,
        PARTITION_FILE,
    ]
    raise not_found(NAME, folder, expected, tried)


def _announced(raw: RawData) -> RawData:
    announce(f"{NAME}: {raw.source}")
    return raw

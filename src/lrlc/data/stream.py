"""Folders larger than memory: `folder:PATH@OPTIONS,stream` is read image by image from its files.

    >>> from lrlc.data import open_dataset
    >>> ds = open_dataset("folder:/data/imagenet@224,stream", augment="imagenet")
    >>> ds.split("train")[(0, 7)]   # (float32 (3, 224, 224) in [0, 1], label), draw 7
    >>> ds.split("val")[0]          # evaluation images: no random draw

`stream_dataset` returns a `StreamedDataset`: the metadata of an in-memory `Dataset` (classes,
input shape, source, fingerprint, protocol) and, per split, a `FolderSplit`, a map-style torch
Dataset that decodes one file per item, for a DataLoader with worker processes.

The splits are those of the in-memory path, drawn by the same functions from the same labels:
the stratified validation split (`lrlc.data.splits`), the `train_size` subset and the
per-image shifts of `translate`. Without augmentation each item is the same float32 image as
in memory (`load_image`, then x / 255), so a streamed run computes what an in-memory run does.

The fingerprint hashes the settings and the file listing (relative path, label, size and
modification time of every file: `files_digest`), not the pixels: hashing decoded images would
mean decoding the whole folder, an epoch's work, before every start and resume.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from .augment import ImageNetAugmentation, augmentation
from .own import (
    FolderOptions,
    files_digest,
    fit_image,
    folder_counts,
    folder_protocol,
    image_array,
    open_image,
    parse_own_name,
    scan_image_folder,
)
from .registry import _SCALES, Dataset, load_dataset
from .sources import announce
from .splits import (
    OWN_VAL_FRACTION,
    VAL_SEED,
    stratified_split,
    stratified_subset,
    subset_protocol,
)
from .transforms import draw_shifts, shift_images

__all__ = [
    "FolderSplit",
    "StreamedDataset",
    "UnreadableImageError",
    "open_dataset",
    "stream_dataset",
]


class UnreadableImageError(ValueError):
    """A file of a streamed folder cannot be decoded.

    A DataLoader worker's exception reaches the main process as `type(err)(text)`, the text
    holding the worker's traceback; this class keeps only the text's last line, its own
    message, so that the command line still says one clear line.
    """

    def __init__(self, message: str) -> None:
        last = message.strip().splitlines()[-1] if message.strip() else message
        prefix = f"{type(self).__module__}.{type(self).__qualname__}: "
        super().__init__(last[len(prefix) :] if last.startswith(prefix) else last)


class FolderSplit(TorchDataset):
    """One split of a streamed folder: item i is (float32 image (C, H, W) in [0, 1], label).

    A key `(i, draw)` asks for a training item under random augmentation drawn from
    `(draw, i)`; a plain `i` (or no augmentation) gives the deterministic image.
    """

    def __init__(
        self,
        root: Path,
        paths: np.ndarray,
        labels: np.ndarray,
        shifts: np.ndarray | None,
        options: FolderOptions,
        augment: ImageNetAugmentation | None = None,
    ) -> None:
        # Paths as one bytes array, not a list of str: worker processes then share its pages
        # instead of touching (and so copying) a million Python objects' reference counts.
        self.root, self.paths, self.labels = root, paths, labels
        self.options, self.shifts, self.augment = options, shifts, augment

    def __len__(self) -> int:
        return len(self.labels)

    def path(self, index: int) -> Path:
        return self.root / os.fsdecode(self.paths[index])

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        index, draw = key if isinstance(key, tuple) else (key, None)
        path = self.path(index)
        try:
            image = open_image(path, self.options.mode)
        except MemoryError:
            raise
        except Exception as error:  # noqa: BLE001 - any decoder failure names the file
            raise UnreadableImageError(
                f"{path} cannot be decoded ({type(error).__name__}: {error}); replace or "
                "delete it, then run the same command again (a run resumes from its last "
                "checkpoint)"
            ) from None
        array = image_array(self._sized(image, index, draw))
        if self.shifts is not None:
            array = shift_images(array[None], self.shifts[index][None])[0]
        tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
        return tensor.to(torch.float32).div_(255), int(self.labels[index])

    def _sized(self, image, index: int, draw: int | None):
        size = (self.options.height, self.options.width)
        if self.augment is None:
            return fit_image(image, self.options)
        if draw is None:
            return self.augment.eval(image, size)
        return self.augment.train(image, size, np.random.default_rng([draw, index]))


@dataclass(frozen=True, eq=False)
class StreamedDataset:
    """A dataset read from its files batch by batch: `split(name)` is a torch Dataset."""

    name: str
    splits: dict[str, FolderSplit] = field(repr=False)
    num_classes: int
    input_shape: tuple[int, int, int]
    source: str
    fingerprint: str  # sha256 of the settings and the file listing (see the module docstring)
    protocol: dict[str, Any] = field(default_factory=dict)
    class_names: tuple[str, ...] | None = None

    def split(self, name: str) -> FolderSplit:
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}: use 'train', 'val' or 'test'")
        return self.splits[name]

    def sizes(self) -> dict[str, int]:
        return {name: len(self.splits[name]) for name in ("train", "val", "test")}


def open_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    augment: str | None = None,
    **kwargs: Any,
) -> Dataset | StreamedDataset:
    """`stream_dataset` for a `folder:...,stream` name, else `load_dataset` (in memory).

    `augment` (e.g. "imagenet", `lrlc.data.augment`) needs a streamed folder: it draws from
    each image's file, which an in-memory dataset no longer has.
    """
    parsed = parse_own_name(name) if name.startswith("folder:") else None
    if parsed is not None and parsed.options is not None and parsed.options.stream:
        return stream_dataset(name, augment=augment, **kwargs)
    if augmentation(augment) is not None:
        streamed = "folder:PATH@SIZE,stream" if parsed is None else _stream_name(parsed)
        raise ValueError(
            f"augmentation {augment!r} draws from each image's file, so it needs a streamed "
            f"folder; use --dataset {streamed}"
        )
    return load_dataset(name, data_dir, **kwargs)


def _stream_name(parsed) -> str:
    o = parsed.options
    return f"folder:{parsed.path}@{FolderOptions(o.height, o.width, o.mode, o.crop, True).text()}"


def stream_dataset(
    name: str,
    train_size: int | None = None,
    translate: int = 0,
    seed: int = 0,
    subset_seed: int = 0,
    augment: str | None = None,
    **others: Any,
) -> StreamedDataset:
    """The splits of `folder:PATH@OPTIONS,stream`, as `load_dataset` draws them, read lazily.

    `train_size`, `translate`, `seed` and `subset_seed` mean what they mean for
    `load_dataset`; `augment` names a training augmentation (`lrlc.data.augment`).
    """
    if others.get("canvas"):
        raise ValueError("--canvas places images held in memory; a streamed folder cannot take it")
    parsed = parse_own_name(name)
    options = parsed.options
    if parsed.kind != "folder" or options is None or not options.stream:
        raise ValueError(f"{name!r} is not a streamed folder (folder:PATH@OPTIONS,stream)")
    aug = augmentation(augment)
    listing = scan_image_folder(parsed.path)
    root = listing.root
    rows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    for split, files in listing.files.items():
        paths = np.array([p.relative_to(root).as_posix().encode() for p, _ in files], dtype="S")
        shifts = draw_shifts(len(files), translate, seed, split) if translate else None
        rows[split] = (paths, listing.labels(split), shifts)
    protocol: dict[str, Any] = {"scale": _SCALES["unit"]}
    if listing.val_from_train:
        keep, held_out = stratified_split(rows["train"][1], OWN_VAL_FRACTION, seed=VAL_SEED)
        rows["val"], rows["train"] = _take(rows["train"], held_out), _take(rows["train"], keep)
        protocol["val"] = (
            f"stratified {OWN_VAL_FRACTION:.0%} of the training images ({len(held_out)}), "
            f"seed {VAL_SEED}"
        )
    protocol.update(folder_protocol(listing, options))
    if train_size is not None:
        keep = stratified_subset(
            rows["train"][1], train_size, seed=subset_seed, num_classes=len(listing.classes)
        )
        rows["train"] = _take(rows["train"], keep)
    protocol.update(
        **subset_protocol(train_size, subset_seed, translate, seed),
        read="streamed: each image decoded from its file when a batch needs it",
        augment=augment if aug is not None else "none",
    )
    settings = {"name": parsed.canonical(), **protocol}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(files_digest(listing).encode())
    source = (
        f"image folder {root.resolve()} ({len(listing.classes)} classes; "
        f"{folder_counts(listing)} images; streamed from the files)"
    )
    announce(source)
    return StreamedDataset(
        name=name,
        splits={
            s: FolderSplit(root, *rows[s], options=options, augment=aug)
            for s in ("train", "val", "test")
        },
        num_classes=len(listing.classes),
        input_shape=(options.channels, options.height, options.width),
        source=source,
        fingerprint=digest.hexdigest(),
        protocol=protocol,
        class_names=listing.classes,
    )


def _take(row, index: np.ndarray):
    paths, labels, shifts = row
    return paths[index], labels[index], None if shifts is None else shifts[index]

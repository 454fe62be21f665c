"""Dataset names -> loaders, the paper's splits and scaling, subsets, translation, fingerprint."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .canvas import Canvas, canvas_images, parse_canvas
from .celeba import load_celeba_raw
from .cifar10 import load_cifar10_raw
from .fashion_mnist import load_fashion_mnist_raw
from .mnist import load_mnist_raw
from .own import OwnData, is_own_name, load_npz_raw, load_own, parse_own_name, scan_image_folder
from .sources import RawData
from .splits import (
    OWN_VAL_FRACTION,
    VAL_SEED,
    stratified_split,
    stratified_subset,
    subset_protocol,
)
from .transforms import translate_images

__all__ = [
    "DATASETS",
    "OWN_VAL_FRACTION",
    "Dataset",
    "DatasetSpec",
    "dataset_spec",
    "load_dataset",
    "stratified_split",
    "stratified_subset",
]

Split = tuple[torch.Tensor, torch.Tensor]
_SCALES = {
    "pm1": "x / 255 * 2 - 1, in [-1, 1]",
    "unit": "x / 255, in [0, 1]",
    "float": "float images as given (not rescaled)",
}


@dataclass(frozen=True)
class DatasetSpec:
    """How one named dataset is loaded, split and scaled."""

    name: str
    loader: Callable[..., RawData]
    num_classes: int
    input_shape: tuple[int, int, int]
    scale: str  # a key of _SCALES
    val_fraction: float | None  # None: the official validation partition
    # How val_fraction is taken from the training set: "first" (the first examples, the
    # paper's protocol) or "stratified" (a class-stratified draw, for npz:/folder: data, whose
    # files are often ordered by class).
    val_split: str = "first"


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("mnist", load_mnist_raw, 10, (1, 28, 28), "pm1", 0.08),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", load_fashion_mnist_raw, 10, (1, 28, 28), "pm1", 0.08
    ),
    "cifar10": DatasetSpec("cifar10", load_cifar10_raw, 10, (3, 32, 32), "unit", 0.10),
    "celeba32": DatasetSpec("celeba32", load_celeba_raw, 2, (3, 32, 32), "unit", None),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Three splits in memory: images float32 (N, C, H, W) already scaled, labels int64 (N,)."""

    name: str
    train: Split = field(repr=False)
    val: Split = field(repr=False)
    test: Split = field(repr=False)
    num_classes: int
    input_shape: tuple[int, int, int]
    source: str  # where the data came from, for the run's records
    fingerprint: str  # sha256 of the final arrays and the settings that made them
    protocol: dict[str, Any] = field(default_factory=dict)
    class_names: tuple[str, ...] | None = None  # label i = class_names[i] (folder: data)

    def split(self, name: str) -> Split:
        """The (images, labels) pair of "train", "val" or "test"."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}: use 'train', 'val' or 'test'")
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        """Number of examples per split."""
        return {name: len(self.split(name)[1]) for name in ("train", "val", "test")}


def _to_nchw(images: np.ndarray) -> np.ndarray:
    if images.ndim == 3:
        return images[:, None]
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


def _scaled(images: np.ndarray, scale: str) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32)
    if scale == "float":
        return tensor
    tensor.div_(255)
    if scale == "pm1":
        tensor.mul_(2).sub_(1)
    return tensor


def _fingerprint(settings: dict[str, Any], splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    # Hash the uint8 (N, C, H, W) pixels and the labels: the float tensors are a fixed function
    # of them and of the scale, which is part of the settings. Float images (npz: data) are
    # hashed as little-endian float32, the values the tensors get.
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name in ("train", "val", "test"):
        images, labels = splits[name]
        digest.update(f"{name}:{images.shape}:{labels.shape}".encode())
        if images.dtype != np.uint8:
            digest.update(b"float32")
            images = images.astype("<f4")
        digest.update(memoryview(np.ascontiguousarray(images, dtype=images.dtype)).cast("B"))
        digest.update(memoryview(np.ascontiguousarray(labels, dtype="<i8")).cast("B"))
    return digest.hexdigest()


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    train_size: int | None = None,
    translate: int = 0,
    seed: int = 0,
    download: bool = True,
    subset_seed: int = 0,
    canvas: str | Canvas | None = None,
) -> Dataset:
    """Load `mnist`, `fashion_mnist`, `cifar10` or `celeba32` with the paper's protocol, or
    your own data: `npz:PATH` or `folder:PATH[@OPTIONS]` (see `lrlc.data.own`).

    data_dir: root folder holding one subfolder per dataset (default `default_data_dir()`);
    for `folder:` data, where the decoded images are cached (`<data_dir>/own/`).
    Validation: the first 8% (MNIST, Fashion-MNIST) or 10% (CIFAR-10) of the official training
    set, or CelebA's official partition; test: the official test set. Own data: its own
    validation split if it has one (x_val/y_val; val/ beside test/), else a class-stratified
    10% of its training images drawn with a fixed seed (`stratified_split`).
    train_size: a stratified subset of the training split (validation already removed), fixed
    by `subset_seed` (not the run seed, so every model of a sweep sees the same subset).
    translate: shift every image of every split by up to this many pixels (see transforms.py),
    with shifts fixed by `seed` (a data seed, not the run seed).
    canvas: `PLACEMENT:SIZE` (e.g. random:42, centre:42; see canvas.py) pastes every image of
    every split onto a larger canvas, after any translation; random positions fixed by `seed`.
    """
    if not is_own_name(name) and name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}, or your own data "
            "as npz:PATH or folder:PATH[@OPTIONS]"
        )
    if translate < 0:
        raise ValueError(f"translate must be >= 0, got {translate}")
    if _is_streamed(name):
        raise ValueError(
            f"{name!r} is read from its files batch by batch, not loaded into memory: open it "
            "with lrlc.data.open_dataset (as lrlc train and lrlc sweep do)"
        )
    placed = canvas if isinstance(canvas, Canvas) or canvas is None else parse_canvas(canvas)
    own: OwnData | None = None
    if is_own_name(name):
        own = load_own(name, data_dir)
        spec, raw = _own_spec(name, own), own.raw
    else:
        spec = DATASETS[name]
        raw = spec.loader(data_dir, download=download)
    splits = dict(raw.splits)

    # Move images before splitting and subsetting, so that where an image goes depends only
    # on its place in the official split.
    for step in _placement_steps(translate, placed, seed):
        splits = {split: (step(x, split=split), y) for split, (x, y) in splits.items()}

    protocol: dict[str, Any] = {"scale": _SCALES[spec.scale]}
    if spec.val_fraction is not None and spec.val_split == "stratified":
        images, labels = splits["train"]
        keep, held_out = stratified_split(labels, spec.val_fraction, seed=VAL_SEED)
        splits["val"] = (images[held_out], labels[held_out])
        splits["train"] = (images[keep], labels[keep])
        protocol["val"] = (
            f"stratified {spec.val_fraction:.0%} of the training images ({len(held_out)}), "
            f"seed {VAL_SEED}"
        )
    elif spec.val_fraction is not None:
        images, labels = splits["train"]
        n_val = int(round(spec.val_fraction * len(labels)))
        splits["val"] = (images[:n_val], labels[:n_val])
        splits["train"] = (images[n_val:], labels[n_val:])
        protocol["val"] = f"first {spec.val_fraction:.0%} of the official training set ({n_val})"
    else:
        protocol["val"] = "official validation partition"
    if own is not None:
        protocol.update(own.protocol)

    if train_size is not None:
        images, labels = splits["train"]
        keep = stratified_subset(labels, train_size, seed=subset_seed, num_classes=spec.num_classes)
        splits["train"] = (images[keep], labels[keep])
    protocol.update(subset_protocol(train_size, subset_seed, translate, seed))
    if placed is not None:  # only then, so that data without a canvas keeps its fingerprint
        protocol.update(canvas=placed.text(), canvas_seed=seed if not placed.aligned else None)
    input_shape = _placed_shape(spec.input_shape, placed)

    splits = {split: (_to_nchw(x), y) for split, (x, y) in splits.items()}
    for split in ("train", "val", "test"):
        shape = tuple(splits[split][0].shape[1:])
        if shape != input_shape:
            raise ValueError(f"{name} {split}: images of shape {shape}, expected {input_shape}")
    # Own data: the name without its path, so that moving the files keeps the fingerprint.
    settings = {"name": own.fingerprint_name if own is not None else name, **protocol}
    tensors = {
        split: (_scaled(x, spec.scale), torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)))
        for split, (x, y) in splits.items()
    }
    return Dataset(
        name=name,
        train=tensors["train"],
        val=tensors["val"],
        test=tensors["test"],
        num_classes=spec.num_classes,
        input_shape=input_shape,
        source=raw.source,
        fingerprint=_fingerprint(settings, splits),
        protocol=protocol,
        class_names=own.classes if own is not None else None,
    )


def _is_streamed(name: str) -> bool:
    if not name.startswith("folder:"):
        return False
    options = parse_own_name(name).options
    return options is not None and options.stream


def _placement_steps(
    translate: int, canvas: Canvas | None, seed: int
) -> list[Callable[..., np.ndarray]]:
    """The moves applied to every split's raw images, in order: a shift within the image
    (`translate`), then the paste onto a canvas; each is called as step(images, split=...)."""
    steps: list[Callable[..., np.ndarray]] = []
    if translate:
        steps.append(functools.partial(translate_images, max_shift=translate, seed=seed))
    if canvas is not None:
        steps.append(functools.partial(canvas_images, canvas=canvas, seed=seed))
    return steps


def _placed_shape(shape: tuple[int, int, int], canvas: Canvas | None) -> tuple[int, int, int]:
    """The (C, H, W) of the images once on the canvas."""
    return shape if canvas is None else (shape[0], canvas.size, canvas.size)


def dataset_spec(name: str, data_dir: str | os.PathLike[str] | None = None) -> DatasetSpec:
    """The spec (classes, input shape, scale, validation) of a built-in or own dataset name.

    Built-in names: `DATASETS[name]`. `folder:` names: from the folder listing and the options,
    without decoding an image. `npz:` names: the file is read and checked.
    """
    if name in DATASETS:
        return DATASETS[name]
    if not is_own_name(name):
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}, or your own data "
            "as npz:PATH or folder:PATH[@OPTIONS]"
        )
    parsed = parse_own_name(name)
    if parsed.kind == "npz":
        return _own_spec(name, load_npz_raw(parsed.path))
    assert parsed.options is not None
    listing = scan_image_folder(parsed.path)
    options = parsed.options
    return DatasetSpec(
        name,
        functools.partial(_own_loader, name),
        len(listing.classes),
        (options.channels, options.height, options.width),
        "unit",
        OWN_VAL_FRACTION if listing.val_from_train else None,
        "stratified",
    )


def _own_spec(name: str, own: OwnData) -> DatasetSpec:
    return DatasetSpec(
        name,
        functools.partial(_own_loader, name),
        own.num_classes,
        own.input_shape,
        own.scale,
        OWN_VAL_FRACTION if "val" not in own.raw.splits else None,
        "stratified",
    )


def _own_loader(
    name: str, data_dir: str | os.PathLike[str] | None = None, *, download: bool = True
) -> RawData:
    # The DatasetSpec.loader of an own name (download is meaningless for local files).
    del download
    return load_own(name, data_dir).raw

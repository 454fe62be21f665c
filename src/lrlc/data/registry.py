"""Dataset names -> loaders, the paper's splits and scaling, subsets, translation, fingerprint."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .celeba import load_celeba_raw
from .cifar10 import load_cifar10_raw
from .fashion_mnist import load_fashion_mnist_raw
from .mnist import load_mnist_raw
from .sources import RawData
from .transforms import translate_images

__all__ = ["DATASETS", "Dataset", "DatasetSpec", "load_dataset", "stratified_subset"]

Split = tuple[torch.Tensor, torch.Tensor]
_SCALES = {
    "pm1": "x / 255 * 2 - 1, in [-1, 1]",
    "unit": "x / 255, in [0, 1]",
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

    def split(self, name: str) -> Split:
        """The (images, labels) pair of "train", "val" or "test"."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}: use 'train', 'val' or 'test'")
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        """Number of examples per split."""
        return {name: len(self.split(name)[1]) for name in ("train", "val", "test")}


def stratified_subset(
    labels: np.ndarray, size: int, *, seed: int = 0, num_classes: int | None = None
) -> np.ndarray:
    """Sorted indices of a class-stratified subset of `size` examples of labels (N,).

    Per-class counts are proportional to the class frequencies, rounded by largest remainder so
    they sum to `size` exactly (ties: lower class first). Within a class the examples are the
    first ones of a permutation drawn from `seed`, so growing `size` mostly adds examples.
    """
    classes, counts = np.unique(labels, return_counts=True)
    total = len(labels)
    needed = num_classes if num_classes is not None else len(classes)
    if size > total:
        raise ValueError(f"train_size={size} exceeds the {total} training examples available")
    if size < needed:
        raise ValueError(f"train_size={size} is smaller than the number of classes ({needed})")
    # Integer arithmetic: exact quotas and remainders, no float ties.
    quotas, remainders = np.divmod(size * counts, total)
    extra = size - int(quotas.sum())
    quotas[np.argsort(-remainders, kind="stable")[:extra]] += 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.permutation(np.flatnonzero(labels == c))[:q]
        for c, q in zip(classes, quotas, strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def _to_nchw(images: np.ndarray) -> np.ndarray:
    if images.ndim == 3:
        return images[:, None]
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


def _scaled(images: np.ndarray, scale: str) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div_(255)
    if scale == "pm1":
        tensor.mul_(2).sub_(1)
    return tensor


def _fingerprint(settings: dict[str, Any], splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    # Hash the uint8 (N, C, H, W) pixels and the labels: the float tensors are a fixed function
    # of them and of the scale, which is part of the settings.
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name in ("train", "val", "test"):
        images, labels = splits[name]
        digest.update(f"{name}:{images.shape}:{labels.shape}".encode())
        digest.update(memoryview(np.ascontiguousarray(images, dtype=np.uint8)).cast("B"))
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
) -> Dataset:
    """Load `mnist`, `fashion_mnist`, `cifar10` or `celeba32` with the paper's protocol.

    data_dir: root folder holding one subfolder per dataset (default `default_data_dir()`).
    Validation: the first 8% (MNIST, Fashion-MNIST) or 10% (CIFAR-10) of the official training
    set, or CelebA's official partition; test: the official test set.
    train_size: a stratified subset of the training split (validation already removed), fixed
    by `subset_seed` (not the run seed, so every model of a sweep sees the same subset).
    translate: shift every image of every split by up to this many pixels (see transforms.py),
    with shifts fixed by `seed` (a data seed, not the run seed).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if translate < 0:
        raise ValueError(f"translate must be >= 0, got {translate}")
    spec = DATASETS[name]
    raw = spec.loader(data_dir, download=download)
    splits = dict(raw.splits)

    # Shift before splitting and subsetting, so that an image's shift depends only on its
    # place in the official split.
    if translate:
        splits = {
            split: (translate_images(x, translate, seed=seed, split=split), y)
            for split, (x, y) in splits.items()
        }

    protocol: dict[str, Any] = {"scale": _SCALES[spec.scale]}
    if spec.val_fraction is not None:
        images, labels = splits["train"]
        n_val = int(round(spec.val_fraction * len(labels)))
        splits["val"] = (images[:n_val], labels[:n_val])
        splits["train"] = (images[n_val:], labels[n_val:])
        protocol["val"] = f"first {spec.val_fraction:.0%} of the official training set ({n_val})"
    else:
        protocol["val"] = "official validation partition"

    if train_size is not None:
        images, labels = splits["train"]
        keep = stratified_subset(labels, train_size, seed=subset_seed, num_classes=spec.num_classes)
        splits["train"] = (images[keep], labels[keep])
    protocol.update(
        train_size=train_size,
        subset_seed=subset_seed if train_size is not None else None,
        translate=translate,
        translate_seed=seed if translate else None,
        translate_fill="raw pixel 0 (background/black), applied before scaling",
    )

    splits = {split: (_to_nchw(x), y) for split, (x, y) in splits.items()}
    for split in ("train", "val", "test"):
        shape = tuple(splits[split][0].shape[1:])
        if shape != spec.input_shape:
            raise ValueError(
                f"{name} {split}: images of shape {shape}, expected {spec.input_shape}"
            )
    settings = {"name": name, **protocol}
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
        input_shape=spec.input_shape,
        source=raw.source,
        fingerprint=_fingerprint(settings, splits),
        protocol=protocol,
    )

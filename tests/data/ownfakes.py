"""Tiny own data sets made in the tests: ImageFolder trees of uniform images whose colour
encodes split, label and index, and .npz arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

CLASSES = ("zebra", "ant", "moth")
SORTED = ("ant", "moth", "zebra")
SPLIT_CODE = {"train": 0, "val": 1, "test": 2}


def colour(split: str, label: int, index: int) -> tuple[int, int, int]:
    """The uniform colour of one test image: it encodes split, label and index."""
    return (40 + 60 * label, 10 * index, 100 * SPLIT_CODE[split])


def make_folder(
    root: Path, counts: dict[str, int], ext: str = ".png", classes=CLASSES
) -> dict[str, list[tuple[int, int]]]:
    """ImageFolder tree of uniform 8x8 images; returns [(label, index)] per split, in order."""
    written = {}
    for split, count in counts.items():
        written[split] = [(label, i) for label in range(len(classes)) for i in range(count)]
        for name in classes:
            label = sorted(classes).index(name)
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                image = np.empty((8, 8, 3), np.uint8)
                image[:] = colour(split, label, i)
                Image.fromarray(image).save(folder / f"img{i:02d}{ext}", quality=100)
    return written


def decoded_colours(images: torch.Tensor) -> np.ndarray:
    """(N, 3) colour of uniform images in [0, 1] as integers."""
    return (images[:, :, 4, 4] * 255).round().to(torch.int64).numpy()


def npz_arrays(n_train=30, n_test=6, shape=(6, 5), seed=0, **extra) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": np.arange(n_train) % 3,  # ordered 0, 1, 2, 0, ...
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % 3,
    }
    arrays.update(extra)
    return arrays


def save(tmp_path: Path, **arrays) -> str:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return f"npz:{path}"

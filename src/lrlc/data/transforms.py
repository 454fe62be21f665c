"""Translated variants: every image shifted by a fixed random (dy, dx) in [-T, T]^2.

Shifts are applied to the raw uint8 pixels, and vacated pixels get raw value 0. That is the
background of MNIST and Fashion-MNIST (-1 after scaling to [-1, 1]) and black for CIFAR-10 and
CelebA (0 after scaling to [0, 1]). The shift of an image depends only on (seed, split name,
position in the official split), never on the run seed or on train_size.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["draw_shifts", "shift_images", "translate_images"]


def draw_shifts(count: int, max_shift: int, seed: int = 0, split: str = "train") -> np.ndarray:
    """Integer shifts (count, 2) as (dy, dx), uniform in [-max_shift, max_shift] each."""
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    # crc32, unlike hash(), is the same in every process, so the streams are reproducible.
    rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
    return rng.integers(-max_shift, max_shift + 1, size=(count, 2))


def shift_images(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift images (N, H, W) or (N, H, W, C) by shifts (N, 2); positive dy moves content down.

    Vectorised over the images sharing a shift: at most (2T + 1)^2 slice copies.
    """
    if shifts.shape != (len(images), 2):
        raise ValueError(f"shifts must have shape ({len(images)}, 2), got {shifts.shape}")
    height, width = images.shape[1:3]
    out = np.zeros_like(images)
    unique, inverse = np.unique(shifts, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(unique) + 1))
    for k, (dy, dx) in enumerate(unique.tolist()):
        if abs(dy) >= height or abs(dx) >= width:
            continue  # shifted out entirely: stays zero
        idx = order[bounds[k] : bounds[k + 1]]
        out[idx, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = images[
            idx, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
        ]
    return out


def translate_images(
    images: np.ndarray, max_shift: int, *, seed: int = 0, split: str = "train"
) -> np.ndarray:
    """Images (N, H, W[, C]) each shifted by its own (dy, dx) in [-max_shift, max_shift]^2.

    Zero fill; `max_shift == 0` returns the input unchanged.
    """
    if max_shift == 0:
        return images
    return shift_images(images, draw_shifts(len(images), max_shift, seed, split))

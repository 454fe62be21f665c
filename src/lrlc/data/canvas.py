"""Images placed on a larger canvas: centred (the aligned control) or at a random position.

Unaligned data as in the translated MNIST of the spatial-transformer literature: each 28 x 28
image is pasted at a uniformly random position on, e.g., a 42 x 42 canvas of background
(raw pixel 0), so objects move by up to 14 pixels instead of the few of `--translate`. The
aligned control puts the same images at the centre of the same canvas, so the two differ only
in where each image sits.

A canvas is named `PLACEMENT:SIZE` (`random:42`, `centre:42`; SIZE is the side of a square
canvas). Each placement is one registry entry (`PLACEMENTS`) that draws the top-left corner of
every image. A random position depends only on (data seed, split name, position in the
official split), like the shifts of `transforms.py`, never on the run seed or on train_size.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["PLACEMENTS", "Canvas", "canvas_images", "paste_on_canvas", "parse_canvas"]

# (count, room_y, room_x, seed, split) -> top-left corners (count, 2) as (y, x), each in
# [0, room]; room is the canvas side minus the image side.
Placement = Callable[[int, int, int, int, str], np.ndarray]


def _centre(count: int, room_y: int, room_x: int, seed: int, split: str) -> np.ndarray:
    del seed, split  # the same place for every image
    return np.tile(np.array([[room_y // 2, room_x // 2]], np.int64), (count, 1))


def _random(count: int, room_y: int, room_x: int, seed: int, split: str) -> np.ndarray:
    # crc32, unlike hash(), is the same in every process; "canvas:" keeps this stream apart
    # from the shifts of `translate_images`, which may be applied first with the same seed.
    rng = np.random.default_rng([seed, zlib.crc32(f"canvas:{split}".encode())])
    # One (y, x) pair per image in turn, so an image's corner does not depend on the count.
    return rng.integers(0, [room_y + 1, room_x + 1], size=(count, 2))


PLACEMENTS: dict[str, Placement] = {"centre": _centre, "random": _random}


@dataclass(frozen=True)
class Canvas:
    """Where images go: a placement of `PLACEMENTS` on a square canvas of side `size`."""

    placement: str
    size: int

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(
                f"unknown canvas placement {self.placement!r}; choose one of "
                f"{', '.join(PLACEMENTS)} (e.g. random:42)"
            )
        if not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"canvas size must be an integer >= 1, got {self.size!r}")

    def text(self) -> str:
        """The name it was parsed from, e.g. 'random:42'."""
        return f"{self.placement}:{self.size}"

    @property
    def aligned(self) -> bool:
        """Whether every image sits at the same place (the aligned control)."""
        return self.placement == "centre"

    def describe(self) -> str:
        where = "centred" if self.aligned else "at a uniformly random position"
        return f"each image {where} on a {self.size}x{self.size} canvas"


def parse_canvas(text: str | None) -> Canvas | None:
    """'random:42' -> Canvas('random', 42); None or '' -> None (no canvas)."""
    if not text:
        return None
    placement, sep, size = str(text).partition(":")
    if not sep or not size.strip().isdigit():
        raise ValueError(
            f"a canvas is PLACEMENT:SIZE with PLACEMENT one of {', '.join(PLACEMENTS)} and SIZE "
            f"the side in pixels (e.g. random:42), got {text!r}"
        )
    return Canvas(placement.strip(), int(size))


def paste_on_canvas(images: np.ndarray, size: int, corners: np.ndarray) -> np.ndarray:
    """Images (N, H, W[, C]) pasted with their top-left corners at corners (N, 2) onto zero
    canvases (N, size, size[, C]). Vectorised over the images sharing a corner."""
    count, height, width = images.shape[:3]
    if corners.shape != (count, 2):
        raise ValueError(f"corners must have shape ({count}, 2), got {corners.shape}")
    if corners.min(initial=0) < 0 or (corners + [height, width]).max(initial=0) > size:
        raise ValueError(f"an image of {height}x{width} placed outside the {size}x{size} canvas")
    out = np.zeros((count, size, size, *images.shape[3:]), images.dtype)
    unique, inverse = np.unique(corners, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for k, (y, x) in enumerate(unique.tolist()):
        idx = np.flatnonzero(inverse == k)
        out[idx, y : y + height, x : x + width] = images[idx]
    return out


def canvas_images(
    images: np.ndarray, canvas: Canvas, *, seed: int = 0, split: str = "train"
) -> np.ndarray:
    """Images (N, H, W[, C]) on the canvas: (N, size, size[, C]), background raw pixel 0."""
    height, width = images.shape[1:3]
    if canvas.size < max(height, width):
        raise ValueError(
            f"canvas {canvas.text()} is smaller than the {height}x{width} images; give a SIZE "
            f">= {max(height, width)}"
        )
    place = PLACEMENTS[canvas.placement]
    corners = place(len(images), canvas.size - height, canvas.size - width, seed, split)
    return paste_on_canvas(images, canvas.size, corners)

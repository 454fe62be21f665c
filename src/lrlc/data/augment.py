"""Training augmentation of images read from their files (`folder:...,stream` data).

One augmentation is a pair: `train(image, size, rng)`, random, and `eval(image, size)`,
deterministic, each from a decoded PIL image to one of `size` (H, W). The random draws come
from a `numpy.random.Generator` that the caller seeds per image and epoch, so an epoch's crops
are the same whichever worker process or machine reads the image (`lrlc.data.stream`).

`imagenet` follows torchvision's reference ImageNet recipe (the paper does not publish its
own): training images get a random resized crop (8% to 100% of the area, aspect ratio 3/4 to
4/3, bilinear) and a horizontal flip with probability 1/2; evaluation images are resized so
that the crop is 87.5% of their shorter side (256 pixels for a 224 crop) and centre-cropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["AUGMENTATIONS", "ImageNetAugmentation", "augmentation"]

Size = tuple[int, int]  # (height, width)


@dataclass(frozen=True)
class ImageNetAugmentation:
    """Random resized crop + horizontal flip for training; resize + centre crop to evaluate."""

    scale: tuple[float, float] = (0.08, 1.0)  # of the image's area
    ratio: tuple[float, float] = (3 / 4, 4 / 3)  # width / height of the crop
    eval_crop: float = 0.875  # 224 of 256
    attempts: int = 10

    def train(self, image: Image.Image, size: Size, rng: np.random.Generator) -> Image.Image:
        left, top, width, height = self.crop_box(image.size, rng)
        out = image.resize(
            (size[1], size[0]), Image.BILINEAR, box=(left, top, left + width, top + height)
        )
        return out.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else out

    def crop_box(self, image_size: Size, rng: np.random.Generator) -> tuple[int, int, int, int]:
        """(left, top, width, height) of a random crop of an image of (width, height) pixels.

        Draws an area fraction uniformly in `scale` and a log-uniform aspect ratio in `ratio`
        until the crop fits (at most `attempts` times); else the largest central crop whose
        aspect ratio is within `ratio`.
        """
        full_w, full_h = image_size
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(self.attempts):
            area = full_w * full_h * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(log_lo, log_hi))
            w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if 0 < w <= full_w and 0 < h <= full_h:
                top = int(rng.integers(0, full_h - h + 1))
                left = int(rng.integers(0, full_w - w + 1))
                return left, top, w, h
        aspect = min(max(full_w / full_h, self.ratio[0]), self.ratio[1])
        w, h = min(full_w, round(full_h * aspect)), min(full_h, round(full_w / aspect))
        return (full_w - w) // 2, (full_h - h) // 2, w, h

    def eval(self, image: Image.Image, size: Size) -> Image.Image:
        full_w, full_h = image.size
        # Scale so that (H, W) is `eval_crop` of the resized image along its tighter side.
        factor = max(size[0] / (self.eval_crop * full_h), size[1] / (self.eval_crop * full_w))
        w, h = max(size[1], round(full_w * factor)), max(size[0], round(full_h * factor))
        left, top = (w - size[1]) // 2, (h - size[0]) // 2
        resized = image.resize((w, h), Image.BILINEAR)
        return resized.crop((left, top, left + size[1], top + size[0]))


AUGMENTATIONS = {"imagenet": ImageNetAugmentation()}


def augmentation(name: str | None) -> ImageNetAugmentation | None:
    """The augmentation called `name` ("imagenet"), or None for none."""
    if name is None or name == "none":
        return None
    if name not in AUGMENTATIONS:
        raise ValueError(
            f"unknown augmentation {name!r}; known: none, {', '.join(sorted(AUGMENTATIONS))}"
        )
    return AUGMENTATIONS[name]

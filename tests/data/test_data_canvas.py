"""Images on a larger canvas: centred equals padding, random keeps every pixel of the image and
covers the canvas, both are fixed by (seed, split) and part of the data's fingerprint."""

import numpy as np
import pytest
import torch

from lrlc.data import Canvas, canvas_images, load_dataset, parse_canvas, paste_on_canvas

from .datafakes import make_idx_folder


def _images(count: int, size: int = 28, channels: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(0)
    shape = (count, size, size) + ((channels,) if channels else ())
    return rng.integers(1, 256, shape, dtype=np.uint8)  # no zero pixel: the content is findable


def test_centred_canvas_equals_zero_padding():
    images = _images(5)
    placed = canvas_images(images, Canvas("centre", 42), seed=3, split="val")
    np.testing.assert_array_equal(placed, np.pad(images, ((0, 0), (7, 7), (7, 7))))
    # An odd margin puts the extra pixel after the image (room // 2 before it).
    odd = canvas_images(images, parse_canvas("centre:31"))
    np.testing.assert_array_equal(odd, np.pad(images, ((0, 0), (1, 2), (1, 2))))


def test_random_canvas_keeps_each_image_whole_and_covers_the_canvas():
    images = _images(3000, size=6, channels=2)
    placed = canvas_images(images, Canvas("random", 10), seed=1, split="train")
    assert placed.shape == (3000, 10, 10, 2) and placed.dtype == np.uint8
    corners = []
    for image, canvas in zip(images, placed, strict=True):
        rows, cols = np.nonzero(canvas.any(-1))
        y, x = rows.min(), cols.min()
        np.testing.assert_array_equal(canvas[y : y + 6, x : x + 6], image)  # exact content
        assert np.count_nonzero(canvas.any(-1)) == 36  # and nothing else on the canvas
        corners.append((y, x))
    # Uniform over the 5 x 5 corners that keep the image inside: every one occurs, roughly
    # equally often (3000 / 25 = 120 each; 60-180 is far outside a binomial's spread).
    values, counts = np.unique(np.array(corners), axis=0, return_counts=True)
    assert len(values) == 25 and values.min() == 0 and values.max() == 4
    assert counts.min() > 60 and counts.max() < 180


def test_random_positions_are_fixed_by_seed_and_split():
    images = _images(200)
    canvas = Canvas("random", 42)
    a = canvas_images(images, canvas, seed=0, split="train")
    np.testing.assert_array_equal(a, canvas_images(images, canvas, seed=0, split="train"))
    assert not np.array_equal(a, canvas_images(images, canvas, seed=1, split="train"))
    assert not np.array_equal(a, canvas_images(images, canvas, seed=0, split="test"))
    # An image's position does not depend on how many images come after it.
    np.testing.assert_array_equal(a[:10], canvas_images(images[:10], canvas, seed=0))


def test_paste_checks_its_corners():
    with pytest.raises(ValueError, match="outside the 8x8 canvas"):
        paste_on_canvas(_images(1, size=4), 8, np.array([[5, 0]]))
    with pytest.raises(ValueError, match="corners must have shape"):
        paste_on_canvas(_images(2, size=4), 8, np.zeros((1, 2), np.int64))


@pytest.mark.parametrize(
    "text, match",
    [("random", "PLACEMENT:SIZE"), ("random:big", "PLACEMENT:SIZE"), ("left:42", "placement")],
)
def test_bad_canvas_names(text, match):
    with pytest.raises(ValueError, match=match):
        parse_canvas(text)


def test_canvas_through_load_dataset(tmp_path):
    make_idx_folder(tmp_path / "mnist", n_train=250, n_test=40)
    kw = dict(data_dir=tmp_path, download=False)
    plain = load_dataset("mnist", **kw)
    centred = load_dataset("mnist", canvas="centre:36", **kw)
    moved = load_dataset("mnist", canvas="random:36", **kw, train_size=60)
    assert centred.input_shape == moved.input_shape == (1, 36, 36)
    for split in ("train", "val", "test"):
        # The aligned control: the same images, padded with the background (-1 after scaling).
        want = torch.nn.functional.pad(plain.split(split)[0], (4, 4, 4, 4), value=-1.0)
        assert torch.equal(centred.split(split)[0], want), split
    assert moved.sizes() == {"train": 60, "val": 20, "test": 40}
    # Random positions are drawn before the subset: each subset image is at the place it has
    # in the whole split, and so is every validation image.
    whole = load_dataset("mnist", canvas="random:36", **kw)
    assert torch.equal(whole.val[0], moved.val[0])
    fingerprints = {d.fingerprint for d in (plain, centred, whole)}
    fingerprints.add(load_dataset("mnist", canvas="random:36", seed=1, **kw).fingerprint)
    assert len(fingerprints) == 4
    assert whole.protocol["canvas"] == "random:36" and whole.protocol["canvas_seed"] == 0
    assert "canvas" not in plain.protocol  # so data without a canvas keeps its fingerprint
    with pytest.raises(ValueError, match="smaller than the 28x28"):
        load_dataset("mnist", canvas="random:20", **kw)

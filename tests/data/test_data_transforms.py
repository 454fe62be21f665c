import numpy as np
import pytest

from lrlc.data import draw_shifts, shift_images, translate_images


def _dot_images(count: int, size: int = 28, at: tuple[int, int] = (14, 14)) -> np.ndarray:
    images = np.zeros((count, size, size), np.uint8)
    images[:, at[0], at[1]] = 255
    return images


@pytest.mark.parametrize("max_shift", [1, 4])
def test_shift_is_bounded_and_covers_the_range(max_shift):
    images = _dot_images(2000)
    moved = translate_images(images, max_shift, seed=3, split="train")
    shifts = draw_shifts(2000, max_shift, seed=3, split="train")
    assert moved.dtype == np.uint8 and moved.shape == images.shape
    assert np.all(moved.reshape(2000, -1).sum(1) == 255)  # the dot is kept, nothing else appears
    rows, cols = np.nonzero(moved.reshape(2000, -1))[1].__divmod__(28)
    dy, dx = rows - 14, cols - 14
    assert np.abs(dy).max() == max_shift and np.abs(dx).max() == max_shift
    np.testing.assert_array_equal(np.stack([dy, dx], 1), shifts)  # positive dy: down
    # Uniform over the (2T+1)^2 shifts: every one of them occurs.
    assert len(np.unique(shifts, axis=0)) == (2 * max_shift + 1) ** 2


def test_zero_fill():
    images = np.full((50, 10, 12), 200, np.uint8)
    shifts = np.array([[dy, dx] for dy in range(-2, 3) for dx in range(-4, 6)])
    moved = shift_images(images, shifts)
    for image, (dy, dx) in zip(moved, shifts, strict=True):
        filled = (image == 0).sum()
        kept = (10 - abs(dy)) * (12 - abs(dx))
        assert (image == 200).sum() == kept and filled == 120 - kept
        if dy > 0:
            assert np.all(image[:dy] == 0)
        if dx < 0:
            assert np.all(image[:, dx:] == 0)


def test_shift_larger_than_the_image_empties_it():
    moved = shift_images(np.full((2, 4, 4), 9, np.uint8), np.array([[4, 0], [0, -5]]))
    assert not moved.any()


def test_deterministic_per_seed_and_split():
    images = np.random.default_rng(0).integers(0, 256, (300, 28, 28), dtype=np.uint8)
    a = translate_images(images, 3, seed=0, split="train")
    assert np.array_equal(a, translate_images(images, 3, seed=0, split="train"))
    assert not np.array_equal(a, translate_images(images, 3, seed=1, split="train"))
    assert not np.array_equal(a, translate_images(images, 3, seed=0, split="test"))
    # The same position always gets the same shift, whatever the number of images.
    assert np.array_equal(draw_shifts(10, 3), draw_shifts(1000, 3)[:10])


def test_zero_translation_is_identity():
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    assert np.array_equal(translate_images(images, 0), images)
    assert np.array_equal(shift_images(images, np.zeros((5, 2), int)), images)


def test_colour_images():
    images = np.zeros((30, 32, 32, 3), np.uint8)
    images[:, 10, 20] = (1, 2, 3)
    moved = translate_images(images, 2, seed=5)
    shifts = draw_shifts(30, 2, seed=5)
    for image, (dy, dx) in zip(moved, shifts, strict=True):
        assert image[10 + dy, 20 + dx].tolist() == [1, 2, 3] and image.sum() == 6


def test_bad_arguments():
    with pytest.raises(ValueError, match=">= 0"):
        draw_shifts(3, -1)
    with pytest.raises(ValueError, match="shape"):
        shift_images(np.zeros((3, 4, 4), np.uint8), np.zeros((2, 2), int))

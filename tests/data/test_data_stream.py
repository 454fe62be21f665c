"""`folder:PATH@OPTIONS,stream`: the same splits and pixels as in memory, read per item from
the files; a fingerprint from the file listing; the ImageNet augmentation; the memory budget
that sends a too-large folder here; and one clear message for a file that cannot be read."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from lrlc.data import (
    UnreadableImageError,
    load_dataset,
    open_dataset,
    stream_dataset,
)
from lrlc.data.augment import ImageNetAugmentation, augmentation
from lrlc.data.own import parse_own_name
from lrlc.data.own.budget import parse_size

from .ownfakes import make_folder


@pytest.fixture
def root(tmp_path):
    make_folder(tmp_path / "imgs", {"train": 10, "test": 3})
    return tmp_path / "imgs"


def _items(split) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [split[i] for i in range(len(split))]
    return torch.stack([x for x, _ in pairs]), torch.tensor([y for _, y in pairs])


@pytest.mark.parametrize("options", ["8", "6x5,gray,crop"])
def test_streamed_splits_and_pixels_are_those_in_memory(root, tmp_path, options):
    kwargs = dict(train_size=12, translate=2, seed=3, subset_seed=1)
    memory = load_dataset(f"folder:{root}@{options}", tmp_path / "cache", **kwargs)
    streamed = open_dataset(f"folder:{root}@{options},stream", tmp_path / "cache", **kwargs)
    assert streamed.sizes() == memory.sizes() == {"train": 12, "val": 3, "test": 9}
    assert streamed.input_shape == memory.input_shape
    assert streamed.class_names == memory.class_names == ("ant", "moth", "zebra")
    for name in ("train", "val", "test"):  # the stratified val split, subset and shifts agree
        x, y = _items(streamed.split(name))
        assert torch.equal(x, memory.split(name)[0]) and torch.equal(y, memory.split(name)[1])
    assert {k: v for k, v in streamed.protocol.items() if k not in ("read", "augment")} == (
        memory.protocol
    )
    assert "streamed" in streamed.source and streamed.fingerprint != memory.fingerprint


def test_the_fingerprint_hashes_the_listing_without_decoding(root, tmp_path, monkeypatch):
    name = f"folder:{root}@8,stream"
    with monkeypatch.context() as patch:
        patch.setattr(Image, "open", lambda *a, **k: pytest.fail("decoded an image"))
        first = open_dataset(name)
    assert len(first.fingerprint) == 64 and open_dataset(name).fingerprint == first.fingerprint
    moved = tmp_path / "moved"
    shutil.copytree(root, moved)  # copy2: the same sizes and modification times
    assert open_dataset(f"folder:{moved}@8,stream").fingerprint == first.fingerprint
    assert open_dataset(name, train_size=6).fingerprint != first.fingerprint
    assert open_dataset(f"folder:{root}@9,stream").fingerprint != first.fingerprint
    touched = root / "train" / "ant" / "img03.png"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert open_dataset(name).fingerprint != first.fingerprint


def test_names_and_entry_points(root):
    assert parse_own_name(f"folder:{root}@16,stream").options.text() == "16x16,rgb,stream"
    with pytest.raises(ValueError, match="open_dataset"):
        load_dataset(f"folder:{root}@8,stream")
    with pytest.raises(
        ValueError, match=r"needs a streamed folder; use --dataset folder:.*,stream"
    ):
        open_dataset(f"folder:{root}@8", augment="imagenet")
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        stream_dataset(f"folder:{root}@8,stream", augment="flip")
    with pytest.raises(ValueError, match="given twice"):
        parse_own_name(f"folder:{root}@8,stream,stream")


def _gradient_image(width=300, height=200) -> Image.Image:
    """Red = column, green = row (mod 256): where a pixel came from shows in its colour."""
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    blue = np.zeros_like(cols)
    return Image.fromarray(np.stack([cols % 256, rows % 256, blue], -1).astype(np.uint8))


def test_imagenet_evaluation_is_resize_256_then_centre_crop_224():
    image = _gradient_image(300, 200)
    out = ImageNetAugmentation().eval(image, (224, 224))
    # torchvision: Resize(256) makes the shorter side 256 (200 x 300 -> 256 x 384), then
    # CenterCrop(224) keeps rows 16..239 and columns 80..303.
    expected = image.resize((384, 256), Image.BILINEAR).crop((80, 16, 304, 240))
    assert out.size == (224, 224) and np.array_equal(np.asarray(out), np.asarray(expected))


def test_imagenet_random_crops_stay_in_their_ranges_and_repeat_by_seed():
    aug = ImageNetAugmentation()
    boxes = [aug.crop_box((300, 200), np.random.default_rng([7, i])) for i in range(400)]
    for left, top, w, h in boxes:
        assert 0 <= left and left + w <= 300 and 0 <= top and top + h <= 200
        assert 0.08 * 0.98 <= w * h / 60000 <= 1.0
        assert 3 / 4 * 0.95 <= w / h <= 4 / 3 * 1.05
    areas = np.array([w * h / 60000 for _, _, w, h in boxes])
    assert areas.min() < 0.15 and areas.max() > 0.7  # the whole range is drawn
    assert boxes == [aug.crop_box((300, 200), np.random.default_rng([7, i])) for i in range(400)]
    # A strip no crop of the allowed shapes fits: the central crop of the closest ratio.
    assert aug.crop_box((1000, 10), np.random.default_rng(0)) == (493, 0, 13, 10)


def test_imagenet_training_flips_half_the_images():
    aug, image = ImageNetAugmentation(), _gradient_image(64, 64)
    flipped = 0
    for i in range(200):
        out = np.asarray(aug.train(image, (16, 16), np.random.default_rng([1, i]))).astype(int)
        flipped += out[8, 0, 0] > out[8, -1, 0]  # red decreases left to right
    assert 70 <= flipped <= 130
    assert augmentation("none") is None and augmentation(None) is None


def test_streamed_training_items_are_drawn_per_image_and_epoch(tmp_path):
    folder = tmp_path / "grad"
    for split in ("train", "test"):
        (folder / split / "a").mkdir(parents=True)
        for i in range(10):
            _gradient_image(90 + i, 60).save(folder / split / "a" / f"{i}.png")
    ds = stream_dataset(f"folder:{folder}@16,stream", augment="imagenet")
    train = ds.split("train")
    assert torch.equal(train[(0, 5)][0], train[(0, 5)][0])
    assert not torch.equal(train[(0, 5)][0], train[(0, 6)][0])
    assert not torch.equal(train[(0, 5)][0], train[(1, 5)][0])
    evaluated = np.array(ImageNetAugmentation().eval(_gradient_image(90, 60), (16, 16)))
    assert torch.equal(ds.split("test")[0][0], torch.from_numpy(evaluated).permute(2, 0, 1) / 255)


def test_an_unreadable_file_is_named_in_one_line_also_from_a_worker(root):
    bad = root / "train" / "moth" / "img04.png"
    bad.write_bytes(b"not an image")
    ds = open_dataset(f"folder:{root}@8,stream")  # listing only: the damage is not seen yet
    train = ds.split("train")
    index = next(i for i in range(len(train)) if train.path(i) == bad)
    with pytest.raises(UnreadableImageError, match=f"^{bad} cannot be decoded") as caught:
        train[index]
    assert "\n" not in str(caught.value)
    loader = DataLoader(torch.utils.data.Subset(train, [index]), batch_size=1, num_workers=1)
    with pytest.raises(UnreadableImageError) as caught:
        next(iter(loader))
    message = str(caught.value)
    assert message.startswith(f"{bad} cannot be decoded") and "Traceback" not in message
    assert "\n" not in message


def test_a_folder_over_the_memory_budget_is_refused_before_decoding(root, monkeypatch):
    monkeypatch.setenv("LRLC_MEMORY_BUDGET", "20K")  # 39 images of 3x8x8 take ~37 KiB
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("decoded an image"))
    with pytest.raises(ValueError) as caught:
        load_dataset(f"folder:{root}@8")
    message = str(caught.value)
    assert f"Stream it from its files instead: folder:{root}@8x8,rgb,stream" in message
    assert "39 images" in message and "about 36.6 KiB" in message
    assert "memory budget of 20.0 KiB ($LRLC_MEMORY_BUDGET)" in message
    monkeypatch.undo()
    assert load_dataset(f"folder:{root}@8").sizes()["train"] == 27


def test_memory_sizes_parse():
    assert parse_size("512") == 512 and parse_size("8G") == 8 * 2**30
    assert parse_size("1.5 GiB") == 3 * 2**29 and parse_size("64m") == 64 * 2**20
    with pytest.raises(ValueError, match="is not a size"):
        parse_size("lots")

"""`folder:PATH[@OPTIONS]`: ImageFolder trees, their options, cache, names and errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lrlc.data import DATASETS, DataNotFoundError, dataset_spec, load_dataset
from lrlc.data.own import (
    FolderOptions,
    load_image,
    parse_own_name,
    scan_image_folder,
)

from .ownfakes import SORTED, colour, decoded_colours, make_folder, npz_arrays


@pytest.fixture
def tree(tmp_path):
    written = make_folder(tmp_path / "imgs", {"train": 10, "val": 2, "test": 3})
    return tmp_path / "imgs", written


# --- folder: ------------------------------------------------------------------------------


def test_folder_train_val_test(tree, tmp_path):
    root, written = tree
    ds = load_dataset(f"folder:{root}@8", data_dir=tmp_path / "cache")
    assert ds.sizes() == {"train": 30, "val": 6, "test": 9}
    assert ds.num_classes == 3 and ds.input_shape == (3, 8, 8)
    assert ds.class_names == SORTED and ds.protocol["classes"] == list(SORTED)
    for split in ("train", "val", "test"):
        images, labels = ds.split(split)
        assert images.shape == (len(labels), 3, 8, 8) and images.dtype == torch.float32
        assert labels.dtype == torch.int64
        assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
        # PNG is lossless and 8x8 needs no resizing: every pixel is exact, in file order.
        expected = [colour(split, label, i) for label, i in written[split]]
        assert decoded_colours(images).tolist() == [list(c) for c in expected]
        assert labels.tolist() == [label for label, _ in written[split]]
    assert ds.protocol["val"] == "val/" and ds.protocol["test"] == "test/"
    assert str(root.resolve()) in ds.source and ds.name == f"folder:{root}@8"


def test_folder_imagenet_layout_val_becomes_test(tmp_path):
    written = make_folder(tmp_path / "imgs", {"train": 10, "val": 3})
    ds = load_dataset(f"folder:{tmp_path / 'imgs'}@8", data_dir=tmp_path / "cache")
    # val/ is the test split; validation is a stratified 10% of train/ (1 image per class).
    assert ds.sizes() == {"train": 27, "val": 3, "test": 9}
    assert decoded_colours(ds.test[0])[:, 2].tolist() == [100] * 9  # from val/
    assert "val/ is the test split" in ds.protocol["test"]
    assert ds.protocol["val"].startswith("stratified 10% of the training images (3)")
    assert np.bincount(ds.val[1].numpy()).tolist() == [1, 1, 1]
    # Train and validation partition the train/ folder, each in file order.
    seen = sorted(
        map(tuple, np.concatenate([decoded_colours(ds.train[0]), decoded_colours(ds.val[0])]))
    )
    assert seen == sorted(colour("train", label, i) for label, i in written["train"])
    for images in (ds.train[0], ds.val[0]):
        keys = [tuple(c) for c in decoded_colours(images)]
        assert keys == sorted(keys)


def test_folder_train_and_test_only(tmp_path):
    make_folder(tmp_path / "imgs", {"train": 10, "test": 2})
    ds = load_dataset(f"folder:{tmp_path / 'imgs'}@8", data_dir=tmp_path / "cache")
    assert ds.sizes() == {"train": 27, "val": 3, "test": 6}
    assert ds.protocol["test"] == "test/"
    assert decoded_colours(ds.test[0])[:, 2].tolist() == [200] * 6


def test_folder_options_size_gray_crop(tree, tmp_path):
    root, _ = tree
    cache = tmp_path / "cache"
    ds = load_dataset(f"folder:{root}", data_dir=cache)  # default 32 x 32 RGB
    assert ds.input_shape == (3, 32, 32) and ds.train[0].shape[1:] == (3, 32, 32)
    # A uniform image stays uniform whatever the size.
    assert torch.allclose(ds.train[0][:, :, 0, 0], ds.train[0][:, :, 31, 31], atol=1 / 255)
    gray = load_dataset(f"folder:{root}@8,gray", data_dir=cache)
    assert gray.input_shape == (1, 8, 8) and gray.train[0].shape[1:] == (1, 8, 8)
    rgb = load_dataset(f"folder:{root}@8", data_dir=cache)
    r, g, b = (rgb.train[0][:, c, 0, 0] * 255 for c in range(3))
    luma = (r * 299 + g * 587 + b * 114) / 1000  # PIL's "L" conversion
    assert torch.allclose(gray.train[0][:, 0, 0, 0] * 255, luma, atol=1)
    wide = load_dataset(f"folder:{root}@4x6", data_dir=cache)
    assert wide.input_shape == (3, 4, 6) and wide.test[0].shape == (9, 3, 4, 6)
    assert len({rgb.fingerprint, gray.fingerprint, wide.fingerprint, ds.fingerprint}) == 4


def test_load_image_crop_squash_exif_alpha_16bit(tmp_path):
    # 8 wide x 4 high: left and right quarters red, the middle green.
    array = np.zeros((4, 8, 3), np.uint8)
    array[:, :2] = array[:, 6:] = (255, 0, 0)
    array[:, 2:6] = (0, 255, 0)
    Image.fromarray(array).save(tmp_path / "wide.png")
    cropped = load_image(tmp_path / "wide.png", FolderOptions(4, 4, crop=True))
    assert cropped.shape == (4, 4, 3) and (cropped == (0, 255, 0)).all()
    squashed = load_image(tmp_path / "wide.png", FolderOptions(4, 4))
    assert squashed[:, 0, 0].min() > 200  # the red edge survives a squash
    # EXIF orientation 6 (rotate 90 degrees clockwise to display): the left half goes up.
    half = np.zeros((4, 8), np.uint8)
    half[:, :4] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(half).save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    upright = load_image(tmp_path / "rotated.jpg", FolderOptions(8, 4, mode="gray"))
    assert upright.shape == (8, 4, 1)
    assert upright[:3].min() > 200 and upright[5:].max() < 50
    # Transparent pixels become black; grey images get three equal channels in rgb mode.
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[:2, :, 3] = 255  # top half opaque white, bottom half transparent white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    out = load_image(tmp_path / "alpha.png", FolderOptions(4, 4))
    assert (out[:2] == 255).all() and (out[2:] == 0).all()
    Image.fromarray(np.full((4, 4), 77, np.uint8), "L").save(tmp_path / "grey.bmp")
    assert (load_image(tmp_path / "grey.bmp", FolderOptions(4, 4)) == 77).all()
    # 16-bit grey is scaled to 8 bits, not clipped at 255.
    Image.fromarray(np.full((4, 4), 257 * 100, np.uint16)).save(tmp_path / "deep.png")
    assert (load_image(tmp_path / "deep.png", FolderOptions(4, 4, mode="gray")) == 100).all()


def test_jpeg_and_other_files(tmp_path):
    written = make_folder(tmp_path / "imgs", {"train": 10, "test": 2}, ext=".JPG")
    root = tmp_path / "imgs"
    (root / "train" / "ant" / "notes.txt").write_text("not an image")
    (root / "train" / ".ipynb_checkpoints").mkdir()  # hidden: not a class
    (root / "test" / ".ipynb_checkpoints").mkdir()
    (root / "train" / "labels.csv").write_text("a,b")  # non-image files beside classes: ignored
    ds = load_dataset(f"folder:{root}@8", data_dir=tmp_path / "cache")
    assert ds.class_names == SORTED and ds.sizes() == {"train": 27, "val": 3, "test": 6}
    expected = np.array([colour("test", label, i) for label, i in written["test"]])
    assert np.abs(decoded_colours(ds.test[0]) - expected).max() <= 4  # JPEG, quality 100


def test_folder_cache_second_load_does_not_decode(tree, tmp_path, monkeypatch):
    root, _ = tree
    cache_dir = tmp_path / "cache"
    first = load_dataset(f"folder:{root}@8", data_dir=cache_dir)
    caches = list((cache_dir / "own").glob("folder-imgs-*.npz"))
    assert len(caches) == 1 and str(caches[0]) in first.source

    def no_decoding(*args, **kwargs):
        raise AssertionError("Image.open called: the cache was not used")

    with monkeypatch.context() as patch:
        patch.setattr(Image, "open", no_decoding)
        second = load_dataset(f"folder:{root}@8", data_dir=cache_dir)
        assert second.fingerprint == first.fingerprint
        for split in ("train", "val", "test"):
            assert torch.equal(first.split(split)[0], second.split(split)[0])
            assert torch.equal(first.split(split)[1], second.split(split)[1])
        # Another size is another cache: it must decode.
        with pytest.raises(ValueError, match="Image.open called"):
            load_dataset(f"folder:{root}@4", data_dir=cache_dir)
    # A changed file (new contents, size and time) invalidates the cache; the stale one goes.
    changed = root / "test" / "ant" / "img00.png"
    Image.fromarray(np.full((8, 8, 3), 255, np.uint8)).save(changed)
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = load_dataset(f"folder:{root}@8", data_dir=cache_dir)
    assert third.fingerprint != first.fingerprint
    assert decoded_colours(third.test[0])[0].tolist() == [255, 255, 255]
    now = list((cache_dir / "own").glob("folder-imgs-*.npz"))
    assert len(now) == 1 and now != caches  # the @4 load failed, so wrote nothing


def test_broken_cache_is_rebuilt(tree, tmp_path):
    root, _ = tree
    first = load_dataset(f"folder:{root}@8", data_dir=tmp_path / "cache")
    (cache,) = (tmp_path / "cache" / "own").glob("*.npz")
    cache.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable cache file"):
        again = load_dataset(f"folder:{root}@8", data_dir=tmp_path / "cache")
    assert again.fingerprint == first.fingerprint
    assert cache.stat().st_size > 100


def test_folder_fingerprint_is_deterministic_and_location_free(tree, tmp_path):
    root, _ = tree
    a = load_dataset(f"folder:{root}@8", data_dir=tmp_path / "cache")
    b = load_dataset(f"folder:{root}@8", data_dir=tmp_path / "other_cache")
    assert len(a.fingerprint) == 64 and a.fingerprint == b.fingerprint
    shutil.copytree(root, tmp_path / "moved")
    moved = load_dataset(f"folder:{tmp_path / 'moved'}@8", data_dir=tmp_path / "cache")
    assert moved.fingerprint == a.fingerprint  # the data, not its path
    assert str((tmp_path / "moved").resolve()) in moved.source


def test_folder_train_size_and_translate(tree, tmp_path):
    root, _ = tree
    name, cache = f"folder:{root}@8", tmp_path / "cache"
    full = load_dataset(name, data_dir=cache)
    sub = load_dataset(name, data_dir=cache, train_size=6)
    assert sub.sizes() == {"train": 6, "val": 6, "test": 9}
    assert np.bincount(sub.train[1].numpy()).tolist() == [2, 2, 2]
    assert torch.equal(sub.test[0], full.test[0]) and sub.fingerprint != full.fingerprint
    assert sub.protocol["train_size"] == 6
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        load_dataset(name, data_dir=cache, train_size=2)
    # Images are uniform, so a shift shows as black (zero-filled) border pixels.
    moved = load_dataset(name, data_dir=cache, translate=2)
    assert torch.equal(moved.train[1], full.train[1])
    assert not torch.equal(moved.train[0], full.train[0]) and float(moved.train[0].min()) == 0.0
    assert moved.fingerprint == load_dataset(name, data_dir=cache, translate=2).fingerprint
    assert moved.fingerprint != full.fingerprint


def test_scan_image_folder_lists_paths_and_labels(tree):
    root, written = tree
    listing = scan_image_folder(root)
    assert listing.classes == SORTED and not listing.val_from_train
    assert set(listing.files) == {"train", "val", "test"}
    paths = [p.relative_to(root).as_posix() for p, _ in listing.files["val"]]
    assert paths[:3] == ["val/ant/img00.png", "val/ant/img01.png", "val/moth/img00.png"]
    assert listing.labels("val").tolist() == [label for label, _ in written["val"]]


def test_dataset_spec_without_decoding(tree, tmp_path, monkeypatch):
    root, _ = tree
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("decoded an image"))
    spec = dataset_spec(f"folder:{root}@16,gray")
    assert (spec.num_classes, spec.input_shape, spec.val_fraction) == (3, (1, 16, 16), None)
    assert dataset_spec("cifar10") is DATASETS["cifar10"]
    path = tmp_path / "d.npz"
    np.savez(path, **npz_arrays())
    spec = dataset_spec(f"npz:{path}")
    assert (spec.num_classes, spec.input_shape, spec.val_fraction) == (3, (1, 6, 5), 0.1)
    with pytest.raises(ValueError, match="npz:PATH or folder:PATH"):
        dataset_spec("imagenet")


def test_malformed_folders(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'none'}", data_dir=cache)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataNotFoundError, match="is a file, not a folder"):
        load_dataset(f"folder:{tmp_path / 'file'}", data_dir=cache)
    make_folder(tmp_path / "no_train", {"test": 1})
    with pytest.raises(DataNotFoundError, match="no_train has no train/"):
        load_dataset(f"folder:{tmp_path / 'no_train'}", data_dir=cache)
    make_folder(tmp_path / "train_only", {"train": 2})
    with pytest.raises(DataNotFoundError, match="has no test/ or val/"):
        load_dataset(f"folder:{tmp_path / 'train_only'}", data_dir=cache)
    (tmp_path / "no_classes" / "train").mkdir(parents=True)
    (tmp_path / "no_classes" / "test").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        load_dataset(f"folder:{tmp_path / 'no_classes'}", data_dir=cache)


def _empty_class(root: Path) -> None:
    for image in (root / "train" / "moth").iterdir():
        image.unlink()


def _loose_image(root: Path) -> None:
    shutil.copy(root / "train" / "ant" / "img00.png", root / "train" / "x.png")


@pytest.mark.parametrize(
    "damage, message",
    [
        (_empty_class, "moth: empty class folder"),
        (lambda r: shutil.rmtree(r / "test" / "ant"), r"test: its class folders .* lacks ant"),
        (lambda r: (r / "val" / "bee").mkdir(), r"val: its class folders .* has bee in addition"),
        (_loose_image, "images outside a class folder"),
    ],
)
def test_malformed_folder_trees(tmp_path, damage, message):
    make_folder(tmp_path / "imgs", {"train": 2, "val": 1, "test": 1})
    damage(tmp_path / "imgs")
    with pytest.raises(ValueError, match=message) as info:
        load_dataset(f"folder:{tmp_path / 'imgs'}@8", data_dir=tmp_path / "cache")
    assert type(info.value) is ValueError


def test_corrupt_images_are_named_and_nothing_is_cached(tree, tmp_path):
    root, _ = tree
    (root / "train" / "moth" / "img03.png").write_bytes(b"not a png")
    truncated = root / "test" / "ant" / "img01.png"
    truncated.write_bytes(truncated.read_bytes()[:40])
    bad_train = root / "train" / "zebra" / "img02.png"
    bad_train.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(ValueError, match="2 image file.* cannot be decoded") as info:
        load_dataset(f"folder:{root}@8", data_dir=tmp_path / "cache")
    text = str(info.value)
    assert type(info.value) is ValueError
    assert "img03.png" in text and str(bad_train) in text and "Replace or delete" in text
    assert not list((tmp_path / "cache").rglob("*.npz"))
    (root / "train" / "moth" / "img03.png").unlink()
    bad_train.unlink()
    with pytest.raises(ValueError, match=r"(?s)1 image file.*test.*img01.png"):
        load_dataset(f"folder:{root}@8", data_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    "name, message",
    [
        ("npz:", "give the file after 'npz:'"),
        ("folder:", "give the folder after 'folder:'"),
        ("folder:@32", "give the folder"),
        ("folder:/data/x@big", "unknown option 'big'"),
        ("folder:/data/x@32,64", r"unknown option '64' \(given twice\)"),
        ("folder:/data/x@0", "at least 1 pixel"),
        ("folder:/data/x@", "unknown option ''"),
        ("imagenet", "mnist, fashion_mnist, cifar10, celeba32, or your own data as npz:PATH"),
    ],
)
def test_bad_names(name, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(name)


def test_name_parsing():
    parsed = parse_own_name("folder:/data/faces@64x48,GRAY,crop")
    assert parsed.path == Path("/data/faces") and parsed.kind == "folder"
    assert parsed.options == FolderOptions(64, 48, "gray", True)
    assert parsed.canonical() == "folder@64x48,gray,crop"
    assert parse_own_name("folder:/data/me@home/faces").path == Path("/data/me@home/faces")
    assert parse_own_name("folder:/a@b/c@16").options == FolderOptions(16, 16)
    assert parse_own_name("folder:~/faces").path == Path.home() / "faces"
    assert parse_own_name("npz:/x/d@2.npz").path == Path("/x/d@2.npz")
    assert set(DATASETS) == {"mnist", "fashion_mnist", "cifar10", "celeba32"}

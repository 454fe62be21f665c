"""Own data: `npz:PATH` and `folder:PATH[@OPTIONS]` through `load_dataset`, on tiny files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lrlc.data import DATASETS, DataNotFoundError, dataset_spec, load_dataset, stratified_split
from lrlc.data.own import (
    FolderOptions,
    load_image,
    parse_own_name,
    scan_image_folder,
)

# Created in this order on disk; labels follow the sorted names.
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


# --- npz: ---------------------------------------------------------------------------------


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


def test_npz_without_val_splits_train_stratified(tmp_path):
    arrays = npz_arrays(n_train=40, y_train=np.repeat([0, 1, 2], [20, 12, 8]))
    ds = load_dataset(save(tmp_path, **arrays))
    assert ds.sizes() == {"train": 36, "val": 4, "test": 6}
    assert ds.input_shape == (1, 6, 5) and ds.num_classes == 3 and ds.class_names is None
    assert np.bincount(ds.val[1].numpy()).tolist() == [2, 1, 1]  # 10% of 20, 12, 8
    # uint8 is scaled to [0, 1] (x / 255); train and val partition x_train.
    raw = torch.from_numpy(arrays["x_train"][:, None].astype(np.float32)) / 255
    rows = {bytes(x.numpy().tobytes()) for x in torch.cat([ds.train[0], ds.val[0]])}
    assert rows == {bytes(x.numpy().tobytes()) for x in raw}
    assert torch.equal(ds.test[0], torch.from_numpy(arrays["x_test"][:, None] / 255).float())
    assert ds.test[1].tolist() == arrays["y_test"].tolist()
    assert ds.protocol["val"].startswith("stratified 10%")
    assert ds.source == f"arrays in {(tmp_path / 'data.npz').resolve()}"
    again = load_dataset(save(tmp_path, **arrays))
    assert again.fingerprint == ds.fingerprint and len(ds.fingerprint) == 64


def test_npz_with_val_float_and_channels(tmp_path):
    rng = np.random.default_rng(1)
    x = {s: rng.normal(size=(n, 4, 4, 3)).astype(np.float64) for s, n in (("tr", 12), ("v", 3))}
    arrays = dict(
        x_train=x["tr"],
        y_train=np.arange(12).reshape(12, 1) % 2,  # Keras-style (N, 1)
        x_val=x["v"],
        y_val=np.array([0, 1, 1]),
        x_test=x["v"] * 2,
        y_test=np.array([4, 0, 1], dtype=np.int32),  # class 4 only in test
    )
    ds = load_dataset(save(tmp_path, **arrays))
    assert ds.sizes() == {"train": 12, "val": 3, "test": 3}
    assert ds.num_classes == 5 and ds.input_shape == (3, 4, 4)
    assert ds.protocol["val"] == "x_val, y_val of the .npz"
    # Floats are used as given (as float32), channels moved first.
    expected = torch.from_numpy(x["v"].astype(np.float32)).permute(0, 3, 1, 2)
    assert torch.equal(ds.val[0], expected)
    assert ds.train[1].tolist() == [i % 2 for i in range(12)]
    assert ds.protocol["scale"].startswith("float images as given")
    moved = load_dataset(save(tmp_path, **arrays), translate=1)
    assert not torch.equal(moved.train[0], ds.train[0]) and moved.fingerprint != ds.fingerprint


def test_npz_train_size_and_translate(tmp_path):
    name = save(tmp_path, **npz_arrays(n_train=60))
    full = load_dataset(name)
    sub = load_dataset(name, train_size=9, subset_seed=3)
    assert sub.sizes() == {"train": 9, "val": 6, "test": 6}
    assert np.bincount(sub.train[1].numpy()).tolist() == [3, 3, 3]
    assert torch.equal(sub.val[0], full.val[0])
    moved = load_dataset(name, translate=2)
    assert torch.equal(moved.train[1], full.train[1])
    assert not torch.equal(moved.train[0], full.train[0])
    assert len({full.fingerprint, sub.fingerprint, moved.fingerprint}) == 3


# --- stratified_split ---------------------------------------------------------------------


def test_stratified_split_keeps_a_training_example_per_class():
    labels = np.array([0] * 9 + [1])
    kept, held = stratified_split(labels, 0.1)
    assert held.tolist() != [9] and len(held) == 1 and 9 in kept
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    kept, held = stratified_split(labels, 0.1)
    assert np.bincount(labels[held]).tolist() == [5, 3, 2]
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(100))
    assert np.array_equal(held, stratified_split(labels, 0.1)[1])  # deterministic
    with pytest.raises(ValueError, match="too few"):
        stratified_split(np.array([0, 1, 2, 0]), 0.1)
    with pytest.raises(ValueError, match="too few"):
        stratified_split(np.arange(20), 0.1)  # one example per class


# --- malformed data: one clear error each -------------------------------------------------


def _write_pickled_object_array(path: Path) -> None:
    objects = np.array([{"a": 1}], dtype=object)
    np.savez(path, **npz_arrays(), x_val=np.zeros((1, 6, 5)), y_val=objects)


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(npz_arrays(), x_train=None), "missing array"),
        (dict(npz_arrays(), x_val=np.zeros((2, 6, 5), np.uint8)), r"y_val \(x_val is there\)"),
        (dict(npz_arrays(), y_train=np.arange(29) % 3), "30 images but y_train has 29 labels"),
        (dict(npz_arrays(), y_test=np.array([0, 1, -1, 0, 1, 2])), "label -1"),
        (dict(npz_arrays(), y_train=np.zeros(30) + 0.5), "labels must be integer"),
        (dict(npz_arrays(), y_train=np.zeros((30, 2), int)), r"shape \(30, 2\)"),
        (dict(npz_arrays(), x_train=np.zeros((30, 36), np.uint8)), r"expected images \(N, H, W\)"),
        (dict(npz_arrays(), x_test=np.zeros((6, 3, 6, 5), np.uint8)), "channels-first"),
        (dict(npz_arrays(), x_test=np.zeros((6, 6, 5), np.int64)), "uint8 .* or float"),
        (dict(npz_arrays(), x_test=np.full((6, 6, 5), np.nan)), "NaN"),
        (dict(npz_arrays(), x_test=np.zeros((6, 7, 5), np.uint8)), "same image size"),
        (dict(npz_arrays(), x_test=np.zeros((6, 6, 5), np.float32)), "uint8 .* or float for all"),
        (dict(npz_arrays(), x_test=np.zeros((0, 6, 5), np.uint8)), "x_test holds no images"),
        (dict(npz_arrays(), y_train=np.zeros(30, int), y_test=np.zeros(6, int)), "2 classes"),
        (dict(npz_arrays(), y_test=np.array([0, 1, 2, 0, 1, 500])), "label 500 but there are"),
    ],
)
def test_malformed_npz(tmp_path, arrays, message):
    arrays = {k: v for k, v in arrays.items() if v is not None}
    name = save(tmp_path, **arrays)
    with pytest.raises(ValueError, match=message) as info:
        load_dataset(name)
    assert type(info.value) is ValueError and str(tmp_path / "data.npz") in str(info.value)


def test_malformed_npz_files(tmp_path):
    missing = tmp_path / "nothing.npz"
    with pytest.raises(DataNotFoundError, match="does not exist.*numpy.savez"):
        load_dataset(f"npz:{missing}")
    with pytest.raises(DataNotFoundError, match="is a folder"):
        load_dataset(f"npz:{tmp_path}")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not numpy data at all")
    with pytest.raises(ValueError, match="garbage.npz: not a readable .npz"):
        load_dataset(f"npz:{garbage}")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="holds one array"):
        load_dataset(f"npz:{single}")
    damaged = tmp_path / "damaged.npz"
    np.savez_compressed(damaged, **npz_arrays(n_train=200))
    data = bytearray(damaged.read_bytes())
    data[500] ^= 0xFF  # inside x_train's compressed bytes
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="array x_train is unreadable .*damaged: write it again"):
        load_dataset(f"npz:{damaged}")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.npz: not a readable .npz"):
        load_dataset(f"npz:{empty}")
    objects = tmp_path / "objects.npz"
    _write_pickled_object_array(objects)
    with pytest.raises(ValueError, match="y_val is unreadable .*object arrays") as info:
        load_dataset(f"npz:{objects}")
    assert type(info.value) is ValueError


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

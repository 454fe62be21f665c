"""`npz:PATH`: arrays in one .npz, the stratified validation split, and every malformed file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lrlc.data import DataNotFoundError, load_dataset, stratified_split

from .ownfakes import npz_arrays, save

# --- npz: ---------------------------------------------------------------------------------


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

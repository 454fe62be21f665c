import numpy as np
import pytest
import torch

from lrlc.data import DATASETS, Dataset, load_dataset, stratified_subset

from .datafakes import image_index, make_idx_folder


@pytest.fixture
def fake_mnist(tmp_path):
    written = make_idx_folder(tmp_path / "mnist", n_train=250, n_test=40)
    return tmp_path, written


def _raw_pixels(images: torch.Tensor) -> np.ndarray:
    # Inverse of x / 255 * 2 - 1; exact after rounding.
    return ((images + 1) / 2 * 255).round().to(torch.uint8).numpy()


def test_mnist_splits_and_scaling(fake_mnist):
    data_dir, written = fake_mnist
    ds = load_dataset("mnist", data_dir=data_dir, download=False)
    assert isinstance(ds, Dataset)
    assert ds.sizes() == {"train": 230, "val": 20, "test": 40}  # 8% of 250 = 20
    assert ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    assert ds.source == f"IDX files in {data_dir / 'mnist'}"
    images, labels = ds.train
    assert images.shape == (230, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64
    assert float(images.min()) == -1.0 and float(images.max()) == 1.0
    raw_train_x, raw_train_y = written["train"]
    expected = torch.from_numpy(raw_train_x[20:, None].astype(np.float32)) / 255 * 2 - 1
    assert torch.equal(images, expected)
    # Validation is the first 8% of the official training set, in order; the rest is train.
    assert image_index(_raw_pixels(ds.val[0])).tolist() == list(range(20))
    assert image_index(_raw_pixels(ds.train[0])).tolist() == list(range(20, 250))
    assert ds.val[1].tolist() == raw_train_y[:20].tolist()
    assert ds.test[1].tolist() == written["test"][1].tolist()
    assert "Dataset(name='mnist'" in repr(ds) and "tensor" not in repr(ds)


def test_fingerprint_tracks_data_and_settings(fake_mnist):
    data_dir, _ = fake_mnist
    base = load_dataset("mnist", data_dir=data_dir, download=False)
    assert len(base.fingerprint) == 64
    assert load_dataset("mnist", data_dir=data_dir, download=False).fingerprint == base.fingerprint
    others = {
        load_dataset("mnist", data_dir=data_dir, download=False, translate=2).fingerprint,
        load_dataset("mnist", data_dir=data_dir, download=False, translate=2, seed=1).fingerprint,
        load_dataset("mnist", data_dir=data_dir, download=False, train_size=50).fingerprint,
        load_dataset(
            "mnist", data_dir=data_dir, download=False, train_size=50, subset_seed=1
        ).fingerprint,
    }
    assert len(others) == 4 and base.fingerprint not in others


def test_stratified_subset_largest_remainder():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    idx = stratified_subset(labels, 10, seed=0)
    assert np.bincount(labels[idx]).tolist() == [5, 3, 2]
    # Quotas 3.5, 3.5, 3.0: one extra goes to the tie's lower class; total exactly 10.
    labels = np.repeat([0, 1, 2], [7, 7, 6])
    assert np.bincount(labels[stratified_subset(labels, 10)]).tolist() == [4, 3, 3]
    # Quotas 2.4, 1.8, 0.8 -> floors 2, 1, 0 and the remainders .8, .8 go to classes 1 and 2.
    labels = np.repeat([0, 1, 2], [12, 9, 4])
    assert np.bincount(labels[stratified_subset(labels, 5)]).tolist() == [2, 2, 1]


def test_stratified_subset_is_deterministic_and_seeded():
    labels = np.random.default_rng(0).integers(0, 10, 1000)
    a = stratified_subset(labels, 100, seed=0)
    assert np.array_equal(a, stratified_subset(labels, 100, seed=0))
    assert not np.array_equal(a, stratified_subset(labels, 100, seed=1))
    assert len(np.unique(a)) == 100 and np.all(np.diff(a) > 0)
    counts = np.bincount(labels, minlength=10)
    assert np.all(np.abs(np.bincount(labels[a], minlength=10) - counts / 10) < 1)
    # Growing the subset keeps the earlier examples of each class.
    assert set(stratified_subset(labels, 50, seed=0)) <= set(stratified_subset(labels, 500, seed=0))


def test_stratified_subset_limits():
    labels = np.arange(30) % 10
    with pytest.raises(ValueError, match="exceeds the 30"):
        stratified_subset(labels, 31)
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        stratified_subset(labels, 9, num_classes=10)


def test_train_size_subset_through_load_dataset(fake_mnist):
    data_dir, written = fake_mnist
    ds = load_dataset("mnist", data_dir=data_dir, download=False, train_size=60)
    full = load_dataset("mnist", data_dir=data_dir, download=False)
    assert ds.sizes() == {"train": 60, "val": 20, "test": 40}
    assert torch.equal(ds.val[0], full.val[0]) and torch.equal(ds.test[0], full.test[0])
    picked = image_index(_raw_pixels(ds.train[0]))
    assert picked.min() >= 20  # never a validation image
    assert np.array_equal(ds.train[1].numpy(), written["train"][1][picked])
    counts = np.bincount(written["train"][1][20:], minlength=10)
    got = np.bincount(ds.train[1].numpy(), minlength=10)
    assert got.sum() == 60 and np.all(np.abs(got - counts * 60 / 230) < 1)
    again = load_dataset("mnist", data_dir=data_dir, download=False, train_size=60)
    assert torch.equal(again.train[0], ds.train[0])
    assert ds.protocol["train_size"] == 60 and ds.protocol["subset_seed"] == 0
    with pytest.raises(ValueError, match="exceeds the 230"):
        load_dataset("mnist", data_dir=data_dir, download=False, train_size=231)


def test_translate_through_load_dataset(fake_mnist):
    data_dir, _ = fake_mnist
    plain = load_dataset("mnist", data_dir=data_dir, download=False)
    moved = load_dataset("mnist", data_dir=data_dir, download=False, translate=3)
    again = load_dataset("mnist", data_dir=data_dir, download=False, translate=3)
    assert moved.fingerprint == again.fingerprint
    for split in ("train", "val", "test"):
        assert not torch.equal(moved.split(split)[0], plain.split(split)[0]), split
        assert torch.equal(moved.split(split)[1], plain.split(split)[1])
    # Zero fill happens in raw pixels: the filled border is the background, -1 after scaling.
    assert float(moved.train[0].min()) == -1.0
    assert moved.protocol["translate"] == 3 and moved.protocol["translate_seed"] == 0
    # An image keeps its shift whether or not a subset is taken.
    sub = load_dataset("mnist", data_dir=data_dir, download=False, translate=3, train_size=40)
    rows = [
        int(torch.nonzero((moved.train[0] == img).flatten(1).all(1))[0]) for img in sub.train[0]
    ]
    assert len(set(rows)) == 40


def test_unknown_name_and_bad_arguments(fake_mnist):
    data_dir, _ = fake_mnist
    with pytest.raises(ValueError, match="mnist, fashion_mnist, cifar10, celeba32"):
        load_dataset("imagenet", data_dir=data_dir)
    with pytest.raises(ValueError, match="translate"):
        load_dataset("mnist", data_dir=data_dir, translate=-1)
    assert set(DATASETS) == {"mnist", "fashion_mnist", "cifar10", "celeba32"}

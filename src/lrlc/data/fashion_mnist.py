"""Fashion-MNIST: IDX files, else Debian's dataset-fashion-mnist, else a checked download."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .idx import download_idx_or_fail, load_idx_folder, local_idx, missing_idx_files
from .sources import RawData, announce, dataset_dir

__all__ = ["load_fashion_mnist_raw"]

NAME = "fashion_mnist"
# md5 of the gz files as published by torchvision (Debian recompressed its copies, so their
# md5 differs; their content is validated by the IDX reader instead).
IDX_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MIRRORS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
# Debian package dataset-fashion-mnist (MIT licence) installs the IDX gz files here.
SYSTEM_DIRS = (Path("/usr/share/datasets/fashion-mnist"),)


def load_fashion_mnist_raw(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    system_dirs: Sequence[Path] | None = None,
) -> RawData:
    """Fashion-MNIST's official splits {"train": 60,000, "test": 10,000} as uint8 (N, 28, 28).

    Sources, in order: IDX files in `<data_dir>/fashion_mnist`; the Debian package's folder
    (`system_dirs`, default /usr/share/datasets/fashion-mnist; local, so used even when
    `download` is False); a download from the mirrors. Otherwise DataNotFoundError.
    """
    folder = dataset_dir(data_dir, NAME)
    tried: list[str] = []
    local = local_idx(NAME, folder, tried)
    if local is not None:
        return local

    for system_dir in SYSTEM_DIRS if system_dirs is None else system_dirs:
        system_dir = Path(system_dir)
        missing = missing_idx_files(system_dir)
        if not missing:
            source = f"Debian dataset-fashion-mnist at {system_dir}"
            return _announced(RawData(load_idx_folder(system_dir), source))
        tried.append(
            f"Debian package dataset-fashion-mnist at {system_dir}: "
            + ("not installed" if not system_dir.is_dir() else f"missing {', '.join(missing)}")
        )

    return download_idx_or_fail(NAME, folder, IDX_MD5, MIRRORS, tried, download)


def _announced(raw: RawData) -> RawData:
    announce(f"{NAME}: {raw.source}")
    return raw

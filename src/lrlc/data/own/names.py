"""Names of your own data sets (`npz:PATH`, `folder:PATH[@OPTIONS]`), their options, and
the arrays they load to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..sources import RawData, announce

NPZ_PREFIX = "npz:"
FOLDER_PREFIX = "folder:"
DEFAULT_IMAGE_SIZE = 32
CACHE_FOLDER = "own"  # under the data root, beside mnist/, cifar10/, ...
CACHE_VERSION = 1  # bump when the decoding changes, so that old caches are not reused
IMAGE_EXTENSIONS = (
    ".bmp",
    ".gif",
    ".jpeg",
    ".jpg",
    ".pbm",
    ".pgm",
    ".png",
    ".ppm",
    ".tif",
    ".tiff",
    ".webp",
)
FOLDER_LAYOUT = (
    "PATH/train/<class>/<image> and PATH/test/<class>/... (or PATH/val/<class>/..., which "
    "is then the test split), optionally both val/ and test/"
)
NPZ_LAYOUT = "x_train, y_train, x_test, y_test and optionally x_val, y_val"
_SIZE = re.compile(r"(\d+)(?:x(\d+))?")
_MAX_LISTED = 10  # bad images named in one error


# --- names --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderOptions:
    """How the images of a folder become arrays: size (H, W), colour mode, crop or squash."""

    height: int = DEFAULT_IMAGE_SIZE
    width: int = DEFAULT_IMAGE_SIZE
    mode: str = "rgb"  # "rgb" (3 channels) or "gray" (1 channel)
    crop: bool = False  # centre-crop to the target aspect ratio first; else squash
    # Read each image from its file when a batch needs it (lrlc.data.stream), instead of
    # decoding the whole folder into memory once: for folders larger than memory.
    stream: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("rgb", "gray"):
            raise ValueError(f"mode must be 'rgb' or 'gray', got {self.mode!r}")
        if self.height < 1 or self.width < 1:
            raise ValueError(f"image size must be >= 1, got {self.height}x{self.width}")

    @property
    def channels(self) -> int:
        return 3 if self.mode == "rgb" else 1

    def text(self) -> str:
        """Canonical option text, e.g. "32x32,rgb" or "64x48,gray,crop"."""
        crop, stream = ",crop" if self.crop else "", ",stream" if self.stream else ""
        return f"{self.height}x{self.width},{self.mode}{crop}{stream}"

    def describe(self) -> str:
        how = "centre crop to the aspect ratio, then " if self.crop else ""
        mode = "RGB" if self.mode == "rgb" else "grey (L)"
        return (
            f"{mode}, {how}bicubic resize to {self.height}x{self.width} (H x W), EXIF "
            "orientation applied, 16-bit grey scaled to 8 bits, alpha over black"
        )


@dataclass(frozen=True)
class OwnName:
    """A parsed `npz:PATH` or `folder:PATH[@OPTIONS]` name."""

    kind: str  # "npz" or "folder"
    path: Path
    options: FolderOptions | None = None  # folders only

    def canonical(self) -> str:
        """The name without its path (kind and options): what the fingerprint hashes."""
        return self.kind if self.options is None else f"{self.kind}@{self.options.text()}"


def is_own_name(name: object) -> bool:
    """True for names of the form `npz:...` or `folder:...`."""
    return isinstance(name, str) and name.startswith((NPZ_PREFIX, FOLDER_PREFIX))


def parse_own_name(name: str) -> OwnName:
    """Split `npz:PATH` or `folder:PATH[@OPTIONS]`; a malformed name is one ValueError.

    A relative PATH is relative to the current folder; `~` is expanded. For folders, the
    text after the last `@` is read as options unless it contains a path separator; a folder
    whose own name ends in `@something` needs explicit options (`folder:PATH@32`).
    """
    if name.startswith(NPZ_PREFIX):
        text = name[len(NPZ_PREFIX) :]
        if not text:
            raise ValueError(f"{name!r}: give the file after 'npz:', e.g. npz:/data/faces.npz")
        return OwnName("npz", Path(text).expanduser())
    if name.startswith(FOLDER_PREFIX):
        text = name[len(FOLDER_PREFIX) :]
        options = FolderOptions()
        head, at, tail = text.rpartition("@")
        if at and "/" not in tail and "\\" not in tail:
            options = _parse_options(name, tail)
            text = head
        if not text:
            raise ValueError(f"{name!r}: give the folder after 'folder:', e.g. folder:/data/faces")
        return OwnName("folder", Path(text).expanduser(), options)
    raise ValueError(f"{name!r} is not npz:PATH or folder:PATH[@OPTIONS]")


def _parse_options(name: str, tail: str) -> FolderOptions:
    size: tuple[int, int] | None = None
    mode: str | None = None
    crop = stream = False
    for token in tail.split(","):
        word = token.strip().lower()
        match = _SIZE.fullmatch(word)
        if match and size is None:
            size = (int(match[1]), int(match[2] or match[1]))
            if min(size) < 1:
                raise ValueError(f"{name!r}: image size must be at least 1 pixel, got {token!r}")
        elif word in ("rgb", "gray", "grey") and mode is None:
            mode = "rgb" if word == "rgb" else "gray"
        elif word == "crop" and not crop:
            crop = True
        elif word == "stream" and not stream:
            stream = True
        else:
            known = ("rgb", "gray", "grey", "crop", "stream")
            twice = " (given twice)" if match or word in known else ""
            raise ValueError(
                f"{name!r}: unknown option {token!r}{twice} after '@'. Options, comma-separated: "
                f"a size N or HxW (default {DEFAULT_IMAGE_SIZE}), gray or rgb (default rgb), "
                "crop, stream; e.g. folder:/data/faces@64,gray. A folder whose name has '@' in it "
                f"needs explicit options: folder:PATH@{DEFAULT_IMAGE_SIZE}"
            )
    height, width = size or (DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)
    return FolderOptions(height, width, mode or "rgb", crop, stream)


@dataclass
class OwnData:
    """What `load_own` returns: the raw splits plus what the registry needs to build a spec."""

    raw: RawData  # "train", "test" and, when the data has one, "val"
    num_classes: int
    input_shape: tuple[int, int, int]
    scale: str  # "unit" (uint8 / 255) or "float" (as given)
    fingerprint_name: str  # the name without its path
    classes: tuple[str, ...] | None  # folder names, or None for .npz labels
    protocol: dict[str, Any]  # extra protocol entries (val and test origin, classes, decoding)


def _announced(data: OwnData) -> OwnData:
    announce(data.raw.source)
    return data


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."

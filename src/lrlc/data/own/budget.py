"""How much memory a folder may take once decoded whole; a larger one is to be streamed.

A folder decoded into memory holds every pixel value twice while it loads: as uint8 (the
decoded array, also what the cache stores) and as float32 (the tensor the trainer reads), so
about 5 bytes per value. The check runs on the file listing, before any image is decoded, so
that a folder too large for memory fails in seconds with the name to use instead, rather than
after hours of decoding in an out-of-memory kill.
"""

from __future__ import annotations

import os
import re

from .folder import ImageFolderListing
from .names import FolderOptions

ENV_VAR = "LRLC_MEMORY_BUDGET"
BYTES_PER_VALUE = 5  # uint8 + float32
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes of a size such as "512M", "8G", "8GiB", "1.5T" or "1000000" (binary units)."""
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(
            f"{ENV_VAR}={text!r} is not a size: give a number of bytes with an optional unit "
            "K, M, G or T, e.g. 8G"
        )
    return int(float(match[1]) * _UNITS[match[2].lower()])


def memory_budget() -> tuple[int, str]:
    """(bytes, where that figure comes from): $LRLC_MEMORY_BUDGET, else half of this machine's
    memory shared by the processes torchrun started on it (each holds its own copy)."""
    text = os.environ.get(ENV_VAR, "").strip()
    if text:
        return parse_size(text), f"${ENV_VAR}"
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover (not POSIX)
        return 2**63, "unknown memory size"
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    per = f", shared by {local} processes" if local > 1 else ""
    return total // 2 // local, f"half of this machine's {_gib(total)}{per}"


def check_fits_in_memory(listing: ImageFolderListing, options: FolderOptions) -> None:
    """Raise ValueError, naming the streamed folder to use instead, when the decoded folder
    would exceed the memory budget."""
    count = sum(len(files) for files in listing.files.values())
    need = count * options.channels * options.height * options.width * BYTES_PER_VALUE
    budget, why = memory_budget()
    if need <= budget:
        return
    streamed = FolderOptions(options.height, options.width, options.mode, options.crop, True)
    raise ValueError(
        f"image folder {listing.root} holds {count} images, which decoded at "
        f"{options.height}x{options.width} ({options.channels} channels) take about "
        f"{_gib(need)} of memory, more than the memory budget of {_gib(budget)} ({why}). "
        f"Stream it from its files instead: folder:{listing.root}@{streamed.text()} "
        f"(or raise the budget, e.g. {ENV_VAR}=64G)"
    )


def _gib(size: int) -> str:
    """A size in KiB, MiB, GiB or TiB, e.g. "1.5 GiB"."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 2**10:.1f} KiB"

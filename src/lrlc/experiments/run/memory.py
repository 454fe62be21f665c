"""Process-level settings that make CPU training fast.

glibc's malloc serves every block above its mmap threshold (at most 32 MiB) with a fresh
mmap and unmaps it on free, so each training step re-faults and re-zeroes every large
activation page by page. Raising the threshold and never trimming keeps freed tensor memory in
the heap for the next step: measured here, the 3-layer conv net's step at batch 512 went from
1.78 s to 0.86 s (float32) and from 0.84 s to 0.49 s (bf16). The price is that the process
keeps its peak memory until it exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


def keep_freed_memory() -> bool:
    """Tell glibc to keep freed memory for reuse (see the module docstring).

    Returns whether the setting took effect (False off Linux/glibc). Idempotent.
    """
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(
            _M_TRIM_THRESHOLD, (1 << 31) - 1
        )
    except (OSError, AttributeError):
        return False
    _done = bool(ok)
    return _done

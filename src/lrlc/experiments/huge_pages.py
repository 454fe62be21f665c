"""Transparent huge pages for torch's large CPU tensors: the `lrlc` command's process switch.

Why: a training step at batch 512 works on tensors of tens to hundreds of MB (activations,
their gradients, the LRLC kernel path's re-laid-out input), spread over 4 KiB pages: many TLB
misses, and a page fault at every first touch. `keep_freed_memory` (run/memory.py) already
stops glibc from returning freed blocks to the kernel between steps; 2 MiB pages on top made
one float32 optimizer step of the paper's nets 6-10% faster on an Intel Xeon (AVX-512, 2
threads; conv net 1.234 -> 1.110 s and 1.338 -> 1.246, LRLC rank 16 in the 3rd layer 1.456 ->
1.355 and 1.633 -> 1.532 in two alternating pairs of processes; docs/performance.md, "Huge
pages"). Small tensors gain nothing.

How: torch marks its CPU allocations of 2 MiB and more for huge pages (madvise) when
THP_MEM_ALLOC_ENABLE=1 is in the environment, which it reads once, at its first CPU
allocation. `apply` sets it at the start of `lrlc`'s `main()`, before any tensor exists; the
processes a run spawns (sweep workers, torchrun's, Ray's) inherit it. A program that imports
lrlc as a library sets the variable itself (docs/performance.md).

The switch changes how fast a run computes, never what: it is not part of a run's identity,
but its state is printed and recorded with the run (`current`).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

ENV = "THP_MEM_ALLOC_ENABLE"
SYSFS = Path("/sys/kernel/mm/transparent_hugepage/enabled")
KERNEL_OFFERS = ("always", "madvise")


def kernel_mode(path: Path = SYSFS) -> str:
    """The kernel's THP mode: the bracketed word of `path` ("always", "madvise", "never"), or
    "unavailable" (not Linux, or a kernel without THP)."""
    try:
        text = path.read_text()
    except OSError:
        return "unavailable"
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return "unavailable"


@dataclass(frozen=True)
class HugePages:
    """Whether torch's large CPU tensors get huge pages in this process, and why."""

    on: bool
    reason: str

    def record(self) -> dict[str, object]:
        return {"huge_pages": self.on, "huge_pages_reason": self.reason}


def resolve(
    requested: bool | None, environ: MutableMapping[str, str], mode: str
) -> tuple[HugePages, str | None]:
    """(the outcome, the value to put in `environ[ENV]`, or None to leave it) for a request
    (True, False, or None: auto) given the environment and the kernel's mode."""
    offered = mode in KERNEL_OFFERS
    if requested is False:
        return HugePages(False, "asked off (--no-huge-pages)"), "0"
    if not offered:
        why = f"the kernel offers none (transparent_hugepage: {mode})"
        return HugePages(False, ("asked for, but " if requested else "auto: ") + why), None
    if requested:
        return HugePages(True, f"asked for (transparent_hugepage: {mode})"), "1"
    if ENV in environ:
        on = environ[ENV] == "1"
        return HugePages(on, f"{ENV}={environ[ENV]} in the environment"), None
    return HugePages(True, f"auto: the kernel offers them (transparent_hugepage: {mode})"), "1"


def apply(requested: bool | None = None) -> HugePages:
    """Resolve the request and set torch's variable; call before torch allocates a CPU tensor
    (later, torch has already read it and the setting changes nothing)."""
    outcome, value = resolve(requested, os.environ, kernel_mode())
    if value is not None:
        os.environ[ENV] = value
    return outcome


def current() -> HugePages:
    """This process's state, as the environment and the kernel have it."""
    mode = kernel_mode()
    if mode not in KERNEL_OFFERS:
        return HugePages(False, f"the kernel offers none (transparent_hugepage: {mode})")
    value = os.environ.get(ENV)
    if value is None and mode == "always":
        return HugePages(True, "transparent_hugepage: always (the kernel's, for every process)")
    if value is None:
        return HugePages(False, f"{ENV} not set (the lrlc command sets it; a script must)")
    return HugePages(value == "1", f"{ENV}={value} (transparent_hugepage: {mode})")

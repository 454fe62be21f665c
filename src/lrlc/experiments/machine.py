"""What this machine runs fast, and the speed settings of a run chosen from it.

Every hardware-dependent speed switch has the value `auto`, resolved here from what the
device *is*, never from the machine a default was once tuned on:

- precision: bf16 autocast only where the device runs bf16 natively: a CUDA GPU that
  supports it, or a CPU where oneDNN reports native bf16 (AVX512-BF16 or AMX). Elsewhere,
  e.g. on an AVX2-only CPU, bf16 is emulated and 13-20x slower than float32, so `auto` means
  float32 (docs/design.md, "Precision").
- channels_last: on for CUDA, where NHWC is the layout of the tensor-core convolutions, and
  on a CPU whose kernels torch runs with AVX-512 (measured on two: every float32 step of the
  paper's nets 10-22% faster; bf16 mixed, docs/performance.md); off on other CPUs (with the
  AVX2 kernels it made the convolutional net's step 7% slower).
- compile: off; `torch.compile` costs about a minute per run, more than it saves in runs of a
  few epochs, and it is opt-in.
- huge pages: on where the kernel offers transparent huge pages; a process-wide switch, set
  by the `lrlc` command before any tensor exists (`lrlc.experiments.huge_pages`), recorded
  here.
- threads: torch's own default (one per physical core, or what a sweep executor set for its
  workers).
- lrlc_path: each fixed-weight LRLC layer picks Algorithm 1 or the rank-independent kernel
  path from its cost model (`lrlc.functional.choose_path`), and where that is a close call
  times both once per shape and keeps the faster (`lrlc.functional.fastest_path`; recorded
  in result.json); both compute the same function.

Flags override each; the resolved values and the reasons are printed at the start of a run
and recorded in its result.json.
"""

from __future__ import annotations

import contextlib
import functools
import platform
from dataclasses import dataclass
from typing import Any

import torch

from ..functional import native_status
from . import huge_pages
from .huge_pages import HugePages

PRECISIONS = ("auto", "fp32", "bf16")
# How much slower emulated bf16 autocast measured on an AVX2-only CPU (docs/performance.md).
EMULATED_BF16_SLOWDOWN = "13-20x"


@functools.cache
def cpu_model() -> str:
    """The 'model name' line of /proc/cpuinfo (or platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


@functools.cache
def cpu_flags() -> tuple[str, ...]:
    """The SIMD flags that matter for the conv and matmul kernels (AVX2, AVX-512, AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return tuple(
                        sorted(f for f in flags if f.startswith(("avx512", "amx", "avx2")))
                    )
    except OSError:
        pass
    return ()


def cpu_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16 or AMX), as torch reports."""
    try:
        return bool(torch.backends.mkldnn.is_available() and _mkldnn_bf16())
    except (AttributeError, RuntimeError):  # an old or unusual torch build: assume emulated
        return False


def _mkldnn_bf16() -> bool:
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()


def cuda_native_bf16(index: int) -> bool:
    """Whether CUDA device `index` computes in bf16 natively (compute capability >= 8.0)."""
    major, _ = torch.cuda.get_device_capability(index)
    return major >= 8


@dataclass(frozen=True)
class Capabilities:
    """What a device can do fast: its name and whether it runs bf16 natively."""

    device_type: str
    name: str
    native_bf16: bool
    vector_isa: str = ""  # a CPU's, as torch dispatches its kernels: "AVX512", "AVX2", ...


def capabilities(device: torch.device) -> Capabilities:
    """Probe the device a run trains on."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return Capabilities("cuda", torch.cuda.get_device_name(index), cuda_native_bf16(index))
    isa = torch.backends.cpu.get_cpu_capability()
    return Capabilities("cpu", cpu_model(), cpu_native_bf16(), isa)


def resolve_precision(requested: str, caps: Capabilities) -> tuple[str, str]:
    """('fp32' or 'bf16', why) for a requested precision on a device with `caps`."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    native = "runs bf16 natively" if caps.native_bf16 else "has no native bf16"
    if requested == "auto":
        if caps.native_bf16:
            return "bf16", f"auto: this {caps.device_type.upper()} {native}"
        return "fp32", (
            f"auto: this {caps.device_type.upper()} {native}, where bf16 autocast is emulated "
            f"and {EMULATED_BF16_SLOWDOWN} slower"
        )
    if requested == "bf16" and not caps.native_bf16:
        return "bf16", (
            f"asked for, but this {caps.device_type.upper()} {native}: expect it "
            f"{EMULATED_BF16_SLOWDOWN} slower than fp32 (--precision auto chooses fp32 here)"
        )
    return requested, "asked for"


@dataclass(frozen=True)
class SpeedOptions:
    """The speed switches a user asked for; None means `auto` (see the module docstring).

    None of them is part of a run's identity: they change how fast a run computes, not what.
    """

    channels_last: bool | None = None
    compile: bool | None = None
    threads: int | None = None
    lrlc_path: str | None = None  # "basis", "kernel" or None (auto: each layer's cost model)
    # DataLoader worker processes of a streamed dataset (None: auto, lrlc.experiments.run.feed)
    loader_workers: int | None = None

    def __post_init__(self) -> None:
        if self.lrlc_path not in (None, "auto", "basis", "kernel"):
            raise ValueError(f"lrlc_path must be auto, basis or kernel, got {self.lrlc_path!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads must be an integer >= 1, got {self.threads!r}")
        if self.loader_workers is not None and self.loader_workers < 0:
            raise ValueError(f"loader workers must be >= 0, got {self.loader_workers!r}")


@dataclass(frozen=True)
class ExecutionPlan:
    """How one run executes: device, precision and speed switches, resolved, with reasons."""

    device: torch.device
    caps: Capabilities
    precision: str  # "fp32" or "bf16", resolved
    precision_reason: str
    channels_last: bool
    compile: bool
    threads: int
    lrlc_path: str = "auto"
    huge_pages: HugePages = HugePages(False, "not known")

    def autocast(self):
        """bf16 autocast on this plan's device when it trains in bf16, else a no-op context."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        """A batch in the memory format this plan trains in."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def describe(self) -> str:
        """The one line printed at the start of every run."""
        on_off = {True: "on", False: "off"}
        return (
            f"device {self.device} ({self.caps.name}); precision {self.precision} "
            f"({self.precision_reason}); {self.threads} threads; channels_last "
            f"{on_off[self.channels_last]}; compile {on_off[self.compile]}; huge pages "
            f"{on_off[self.huge_pages.on]}{self._row_products()}"
        )

    def _row_products(self) -> str:
        """Which float32 row products the LRLC kernel path and LocallyConnected2d run here."""
        if self.device.type != "cpu":
            return ""
        st = native_status()  # float32 only: bf16 products are torch's either way
        return f"; float32 row products {f'compiled ({st.isa})' if st.available else 'torch'}"

    def record(self) -> dict[str, Any]:
        """The fields result.json keeps."""
        return {
            # float32 row products of the kernel path and LocallyConnected2d: compiled or torch's
            "row_products": native_status().reason if self.device.type == "cpu" else "torch",
            "precision": self.precision,
            "precision_reason": self.precision_reason,
            "native_bf16": self.caps.native_bf16,
            "processor": self.caps.name,
            "channels_last": self.channels_last,
            "compile": self.compile,
            "threads": self.threads,
            "lrlc_path": self.lrlc_path,
            **self.huge_pages.record(),
        }


def auto_channels_last(caps: Capabilities) -> bool:
    """channels_last where it was measured faster: CUDA, and CPUs with AVX-512 kernels."""
    return caps.device_type == "cuda" or caps.vector_isa.startswith("AVX512")


def plan_execution(
    precision: str,
    device: torch.device,
    options: SpeedOptions | None = None,
    caps: Capabilities | None = None,
) -> ExecutionPlan:
    """Resolve every `auto` switch for a run on `device` (probing it unless `caps` is given).

    Sets torch's thread count when `options.threads` asks for one.
    """
    options = options or SpeedOptions()
    caps = caps if caps is not None else capabilities(device)
    resolved, why = resolve_precision(precision, caps)
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    channels_last = options.channels_last
    if channels_last is None:
        channels_last = auto_channels_last(caps)
    return ExecutionPlan(
        device=device,
        caps=caps,
        precision=resolved,
        precision_reason=why,
        channels_last=channels_last,
        compile=bool(options.compile),
        threads=torch.get_num_threads(),
        lrlc_path=options.lrlc_path or "auto",
        huge_pages=huge_pages.current(),
    )

"""The row engines' batched products in compiled code, where a C compiler is at hand.

`row_bmm(a, b, out)` is `torch.bmm(a, b, out=out)` (`accumulate=True`: `out.baddbmm_(a, b)`)
for the products of `_rows.py` and `_rows_backward.py`. On a CPU with AVX2 or AVX-512, in
float32, it runs them through `lc_bmm.c`, a register-blocked kernel that reads the patches'
overlapping views in place; everywhere else (no compiler, other dtypes and devices, autograd
recording, torch.compile's tracing, `LRLC_NATIVE=0`) through torch, with the same result to
rounding. The float64 tests against the naive loop run torch's products; the float32 tests
run both. `pairs_bmm` is the bf16 form (AVX512-BF16), for operands built for it: the forward
of `_rows.py` takes it where `pairs_available` says so. `panels.py` packs operands in the
kernel's panels; `whole.py` runs a whole forward and `program.py` a whole backward in one call.

The C file is compiled once per source version with the system's C compiler (``$CC`` or
``cc``; ``-O3 -fopenmp``, no torch headers, about a second) into ``$LRLC_CACHE_DIR`` or
``~/.cache/lrlc`` (a temporary folder where neither is writable), and loaded with ctypes. Its
OpenMP runtime is the one torch loaded (same soname), so its threads are torch's.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

# the products (lc_bmm.c), the backward's program (lc_program.c), dw's dot products
# (lc_dots.c) and the layout copies (lc_layout.c), built into one library; lc_common.h what
# they share
SOURCES = tuple(
    Path(__file__).with_name(name)
    for name in ("lc_bmm.c", "lc_program.c", "lc_dots.c", "lc_layout.c")
)
HEADER = Path(__file__).with_name("lc_common.h")

# Instruction sets the C file has a kernel for: torch's name -> (the C file's code, the
# number of float32 columns one SIMD vector holds, a product's columns must be a multiple;
# the columns of one tile, the width of the panels a packed right operand is cut into).
ISAS = {"AVX512": (2, 16, 64), "AVX2": (1, 8, 16)}

_enabled = os.environ.get("LRLC_NATIVE", "1") != "0"
calls = 0  # products the compiled kernel has run in this process (tests, benchmarks)
_isa_override: str | None = None  # `use_native(isa=...)`: a lower set than the CPU's, for tests


@dataclass(frozen=True)
class NativeStatus:
    """Whether the compiled products run, and why not where they do not."""

    available: bool
    isa: str | None  # "AVX512" / "AVX2": the kernel the CPU takes
    library: str | None  # the built shared object
    reason: str  # one line: what was found, or what to do


def _cpu_isa() -> str | None:
    """The best instruction set both the CPU and the C file have (torch's own detection, so
    ``ATEN_CPU_CAPABILITY`` lowers it for both)."""
    cap = torch.backends.cpu.get_cpu_capability()
    if cap.startswith("AVX512"):
        return "AVX512"
    return "AVX2" if cap == "AVX2" else None


def _cache_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("LRLC_CACHE_DIR"):
        dirs.append(Path(os.environ["LRLC_CACHE_DIR"]))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    dirs.append(Path(base) / "lrlc")
    dirs.append(Path(tempfile.gettempdir()) / f"lrlc-{os.getuid() if hasattr(os, 'getuid') else 0}")
    return dirs


def _build(compiler: str) -> tuple[Path | None, str]:
    """Compile `SOURCES` (once per source text and platform) and return the library's path, or
    None and why not. Concurrent builds (pytest or Ray workers) each write their own file and
    rename it into place, so no process loads a half-written library."""
    text = b"".join(source.read_bytes() for source in (HEADER, *SOURCES))
    tag = hashlib.sha256(text + sys.platform.encode() + compiler.encode()).hexdigest()[:16]
    name = f"lc_bmm-{tag}.so"
    errors = []
    for folder in _cache_dirs():
        target = folder / name
        if target.is_file():
            return target, "cached"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".so", dir=folder)
            os.close(fd)
        except OSError as exc:
            errors.append(f"{folder}: {exc.strerror or exc}")
            continue
        cmd = [compiler, "-O3", "-fopenmp", "-shared", "-fPIC", *map(str, SOURCES), "-o", tmp]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            os.unlink(tmp)
            return None, f"{compiler} failed to run ({exc})"
        if done.returncode != 0:
            os.unlink(tmp)
            first = (done.stderr.strip().splitlines() or ["no message"])[0]
            return None, f"{compiler} could not build the compiled products (lc_*.c): {first}"
        os.replace(tmp, target)
        return target, "built"
    return None, "no writable cache folder (" + "; ".join(errors) + "): set LRLC_CACHE_DIR"


@functools.cache
def _load() -> tuple[ctypes.CDLL | None, NativeStatus]:
    isa = _cpu_isa()
    if isa is None:
        cap = torch.backends.cpu.get_cpu_capability()
        return None, NativeStatus(False, None, None, f"CPU capability {cap}: no kernel for it")
    compiler = os.environ.get("CC") or "cc"
    if shutil.which(compiler) is None:
        reason = f"no C compiler ({compiler!r} not found; set CC): torch's products run"
        return None, NativeStatus(False, isa, None, reason)
    path, how = _build(compiler)
    if path is None:
        return None, NativeStatus(False, isa, None, how)
    lib = _open(path)
    if lib is None and how == "cached":
        # A cached library that does not load (cut short by a full disk, say): built again,
        # once, instead of every process falling back to torch's products from then on.
        with contextlib.suppress(OSError):
            path.unlink()
        path, how = _build(compiler)
        lib = _open(path) if path is not None else None
    if lib is None:
        return None, NativeStatus(False, isa, str(path), f"could not load {path}: {how}")
    return lib, NativeStatus(True, isa, str(path), f"{how}, {isa} kernel")


def _open(path: Path) -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(str(path))
        fns = (
            lib.lrlc_bmm_f32_packed,
            lib.lrlc_bmm_bf16_packed,
            lib.lrlc_rows_forward_f32,
            lib.lrlc_rows_program_f32,
            lib.lrlc_dots_f32_packed,
            lib.lrlc_transpose_f32,
        )
    except (OSError, AttributeError):
        return None
    for fn in fns:  # their callers pack the arguments into one array of int64
        fn.argtypes = [ctypes.c_void_p]
        fn.restype = ctypes.c_int
    return lib


def status() -> NativeStatus:
    """Whether the compiled products run here (building them on first call)."""
    if not _enabled:
        return NativeStatus(False, None, None, "switched off (LRLC_NATIVE=0 or use_native)")
    return _load()[1]


def _active() -> tuple[ctypes.CDLL | None, str | None]:
    """The loaded library and the instruction set its products run with, or (None, None)
    where they do not (switched off, not built, torch.compile tracing)."""
    if not _enabled or torch.compiler.is_compiling():
        return None, None
    lib, st = _load()
    return (lib, _isa_override or st.isa) if lib is not None else (None, None)


def runs_compiled(a: Tensor, b: Tensor, out: Tensor) -> bool:
    """Whether `row_bmm(a, b, out)` would run the compiled kernel: the callers then hand it
    operands that torch's product would copy first (an output inside a larger tensor, a
    transposed left operand) instead of making dense ones."""
    _, isa = _active()
    return isa is not None and _eligible(a, b, out, ISAS[isa][1])


@contextlib.contextmanager
def use_native(on: bool, isa: str | None = None) -> Iterator[None]:
    """Switch the compiled products on or off inside the block (tests, benchmarks' A/B);
    `isa` ("AVX2") runs a lower instruction set's kernel than the CPU's."""
    global _enabled, _isa_override
    if isa is not None and isa not in ISAS:
        raise ValueError(f"isa must be one of {sorted(ISAS)}, got {isa!r}")
    before = _enabled, _isa_override
    _enabled, _isa_override = on, isa
    try:
        yield
    finally:
        _enabled, _isa_override = before


def native_isa() -> str | None:
    """The instruction set the compiled products run with here ("AVX512" / "AVX2"), or None
    where they do not: for choices measured per set (`_basis_dw.DOTS_MAX_RANK`)."""
    return _active()[1]


def column_multiple() -> int:
    """The multiple of columns the compiled kernel takes (16 with AVX-512, 8 with AVX2), or 0
    where it does not run: callers that would make a dense operand only for it ask first."""
    _, isa = _active()
    return ISAS[isa][1] if isa is not None else 0


def _eligible(a: Tensor, b: Tensor, out: Tensor, width: int) -> bool:
    # What the kernel reads and writes must be what the shapes say (else it would read out of
    # bounds), in float32 on the CPU, and not recorded by autograd. Checked on every call,
    # in as few Python operations as possible: hundreds of calls make a step.
    if a.dim() != 3 or b.dim() != 3 or out.dim() != 3:
        return False
    (p, m, k), (pb, kb, c), shape = a.shape, b.shape, out.shape
    if (pb, kb) != (p, k) or shape != (p, m, c) or c % width:
        return False
    return b.stride(2) == 1 and out.stride(2) == 1 and _plain(a, b, out)


def _plain(a: Tensor, b: Tensor, out: Tensor) -> bool:
    """float32 CPU operands that autograd does not record."""
    if not (a.dtype is b.dtype is out.dtype is torch.float32):
        return False
    if a.device.type != "cpu" or b.device.type != "cpu" or out.device.type != "cpu":
        return False
    return not (torch.is_grad_enabled() and (a.requires_grad or b.requires_grad))


def row_bmm(
    a: Tensor,
    b: Tensor,
    out: Tensor,
    accumulate: bool = False,
    bias: Tensor | None = None,
    by_rows: bool = False,
    packed: Tensor | None = None,
) -> Tensor:
    """out = a @ b (accumulate: out += a @ b; bias: out = bias + a @ b), batched: a (P, M, K)
    with any strides, b (P, K, C) and out (P, M, C) with contiguous columns, bias (P, C) or
    (P, 1, C), the same for every row of a position. `by_rows`: the compiled kernel's threads
    each take a contiguous share of every position's M rows (for products whose rows are a
    row's output positions: `lc_bmm.c`), not of the positions. `packed`: b as
    `pack_panels(b, panel_width())`, which the compiled kernel then reads instead. Returns
    out."""
    if bias is not None and accumulate:
        raise ValueError("row_bmm: a bias starts the sums, so it cannot be added to out's")
    bias_rows = None if bias is None else bias.reshape(bias.shape[0], bias.shape[-1])
    # Under torch.compile the products stay torch ops, which it traces (it cannot see into
    # a ctypes call): `runs_compiled` says no there.
    lib, isa = _active()
    eligible = isa is not None and _eligible(a, b, out, ISAS[isa][1])
    if eligible and (bias_rows is None or _bias_ok(bias_rows, out)):
        np_, m, k = a.shape
        sa, sb, so = a.stride(), b.stride(), out.stride()
        bias_ptr, bias_p = (0, 0)
        if bias_rows is not None:
            bias_ptr, bias_p = bias_rows.data_ptr(), bias_rows.stride(0)
        b_ptr, (b_p, b_k, b_ct) = b.data_ptr(), (sb[0], sb[1], 0)
        panels = _packed_strides(b.shape, packed, isa)
        if panels is not None:
            b_ptr, (b_p, b_k, b_ct) = packed.data_ptr(), panels
        if _run(lib, isa, (
            np_, m, k, out.shape[2], a.data_ptr(), sa[0], sa[1], sa[2], b_ptr, b_p, b_k,
            out.data_ptr(), so[0], so[1], int(accumulate), bias_ptr, bias_p, int(by_rows), b_ct,
            0,
        )):  # fmt: skip
            return out
    if bias is not None:
        out.copy_(bias_rows.unsqueeze(1).expand_as(out))
        return out.baddbmm_(a, b)
    if accumulate:
        return out.baddbmm_(a, b)
    return torch.bmm(a, b, out=out)


def _run(lib: ctypes.CDLL, isa: str, args: tuple[int, ...]) -> bool:
    """One float32 product through the kernel: `lrlc_bmm_f32_packed`'s arguments after the
    instruction set and the thread count. Whether it ran."""
    packed = array.array("q", (ISAS[isa][0], torch.get_num_threads(), *args))
    if lib.lrlc_bmm_f32_packed(packed.buffer_info()[0]) != 0:
        return False
    _ran()
    return True


def _ran() -> None:
    """Count one call of the compiled code (`calls`)."""
    global calls
    calls += 1


def _bias_ok(bias: Tensor, out: Tensor) -> bool:
    return (
        bias.dtype is torch.float32
        and bias.device.type == "cpu"
        and bias.shape == (out.shape[0], out.shape[2])
        and bias.stride(1) == 1
    )


def row_mm(
    a: Tensor,
    b: Tensor,
    out: Tensor,
    accumulate: bool = False,
    by_rows: bool = False,
    packed: Tensor | None = None,
    out_packed: Tensor | None = None,
) -> Tensor:
    """`row_bmm` for one product, (M, K) @ (K, C): the filter builds and the bases' gradient
    of `_basis_rows.py`, (W_out, K) @ (K, X) and (K, W_out) @ (W_out, X), which the kernel ran
    1.3-2.6x as fast as MKL's GEMM (AMD EPYC Zen 4, K = 4-32, X = 12288). Hundreds of them
    make a step, so the kernel is called without the batch views `row_bmm` would take (three
    `unsqueeze` calls each, about 6 us a product). `by_rows`, `packed` as for `row_bmm`.
    `out_packed`: the output is `pack_panels(out, panel_width())` instead, which it writes
    (or adds to), whichever product runs; out is then not read (None). Returns out, or
    out_packed."""
    lib, isa = _active()
    if isa is not None and _eligible_2d(a, b, out, ISAS[isa][1]):
        (m, k), (sa, sb) = a.shape, (a.stride(), b.stride())
        b_ptr, (b_k, b_ct) = b.data_ptr(), (sb[0], 0)
        panels = _packed_strides(b.shape, packed, isa)
        if panels is not None:
            b_ptr, (_, b_k, b_ct) = packed.data_ptr(), panels
        if out_packed is None:
            c_ptr, c_m, c_ct = out.data_ptr(), out.stride(0), 0
        else:
            c_out = _packed_strides((m, b.shape[1]), out_packed, isa)
            if c_out is None:
                raise ValueError("row_mm: out_packed is not the output in the kernel's panels")
            c_ptr, (_, c_m, c_ct) = out_packed.data_ptr(), c_out
        if _run(lib, isa, (
            1, m, k, b.shape[1], a.data_ptr(), 0, sa[0], sa[1], b_ptr, 0, b_k,
            c_ptr, 0, c_m, int(accumulate), 0, 0, int(by_rows), b_ct, c_ct,
        )):  # fmt: skip
            return out if out_packed is None else out_packed
    if out_packed is not None:  # torch's product, into the panels' first C columns
        prod, width = a @ b, out_packed.shape[2]
        whole = prod.shape[1] // width  # panels it fills; the last may take fewer columns
        parts = [
            (
                out_packed[:whole].transpose(0, 1),
                prod[:, : whole * width].unflatten(1, (whole, width)),
            )
        ]
        if prod.shape[1] % width:
            parts.append((out_packed[whole, :, : prod.shape[1] % width], prod[:, whole * width :]))
        for dst, src in parts:
            dst.add_(src) if accumulate else dst.copy_(src)
        return out_packed
    if accumulate:
        return out.addmm_(a, b)
    return torch.mm(a, b, out=out)


def _eligible_2d(a: Tensor, b: Tensor, out: Tensor | None, width: int) -> bool:
    """`_eligible` for (M, K) @ (K, C) = (M, C); out None: written elsewhere (`out_packed`)."""
    if a.dim() != 2 or b.dim() != 2:
        return False
    (m, k), (kb, c) = a.shape, b.shape
    if kb != k or c % width:
        return False
    if out is None:
        return b.stride(1) == 1 and _plain(a, b, b)
    if out.shape != (m, c) or out.stride(1) != 1:
        return False
    return b.stride(1) == 1 and _plain(a, b, out)


from .pairs import _cpu_has_bf16_pairs, pairs_available, pairs_bmm  # noqa: E402, F401
from .panels import _packed_strides, pack_panels, panel_width  # noqa: E402
from .whole import rows_forward  # noqa: E402  (they use the names above)

__all__ = [
    "NativeStatus",
    "column_multiple",
    "native_isa",
    "pack_panels",
    "pairs_available",
    "pairs_bmm",
    "panel_width",
    "row_bmm",
    "row_mm",
    "rows_forward",
    "runs_compiled",
    "status",
    "use_native",
]

"""The compiled row products (`lrlc.functional._native`): each kernel (AVX-512, AVX2) against
torch's batched product on the strided operands the row engines hand it, the layers' outputs
and every gradient the same with and without them, and the fallbacks where they cannot run."""

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.functional import _native, native_status, use_native

from .test_kernel_path import grads

HAVE_KERNEL = shutil.which("cc") is not None and torch.backends.cpu.get_cpu_capability() in (
    "AVX2",
    "AVX512",
)
needs_kernel = pytest.mark.skipif(not HAVE_KERNEL, reason="needs a C compiler and AVX2/AVX-512")
ISAS = [
    pytest.param(
        isa,
        marks=pytest.mark.skipif(
            isa == "AVX512" and torch.backends.cpu.get_cpu_capability() != "AVX512",
            reason="needs an AVX-512 CPU",
        ),
    )
    for isa in ("AVX512", "AVX2")
]


@needs_kernel
def test_the_kernel_builds_where_a_compiler_is_at_hand():
    st = native_status()
    assert st.available, st.reason
    assert st.isa in ("AVX512", "AVX2") and st.library.endswith(".so")


# (positions, rows, reduction, columns): the row engines' shapes, and edges of the tiles
# (rows not a multiple of the 7 / 3 of a tile, columns of 1-3 vectors, a reduction of 1).
SHAPES = [(22, 40, 192, 64), (3, 13, 7, 16), (5, 8, 100, 192), (2, 1, 1, 48), (4, 9, 33, 80)]


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_each_kernel_is_torchs_product_on_strided_operands(isa, shape):
    p, m, k, c = shape
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(p, m + 3, 2 * k, generator=gen)[:, 1 : m + 1, ::2]  # neither dense
    b = torch.randn(p, k, c + 16, generator=gen)[:, :, 16:]  # rows c + 16 apart
    start = torch.randn(p, m, c, generator=gen)
    bias = torch.randn(p, c + 16, generator=gen)[:, 16:]  # a row per position, rows apart
    expected = torch.bmm(a.double(), b.double())
    with use_native(True, isa):
        before = _native.calls
        out = _native.row_bmm(a, b, torch.full((p, m, c), float("nan")))
        acc = _native.row_bmm(a, b, start.clone(), accumulate=True)
        biased = _native.row_bmm(a, b, torch.full((p, m, c), float("nan")), bias=bias)
        assert _native.calls == before + 3  # all three ran compiled
    # float32 sums of up to 192 terms of size ~1 against float64: errors ~1e-5; a wrong
    # element, tile or stride is off by ~1
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(acc.double(), start.double() + expected, rtol=1e-5, atol=1e-4)
    with_bias = bias.double().unsqueeze(1) + expected
    torch.testing.assert_close(biased.double(), with_bias, rtol=1e-5, atol=1e-4)


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("shape", [(22, 4, 12288), (32, 22, 4096), (13, 3, 80), (1, 1, 16)])
def test_the_single_product_is_torchs_on_strided_operands(isa, shape):
    """`row_mm`, the builds' and bases' gradients' (M, K) @ (K, C), which calls the kernel
    without batch views: strided left operands, right operands and outputs inside larger
    tensors, accumulating or not."""
    m, k, c = shape
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(k, 2 * m, generator=gen)[:, ::2].t()  # (M, K), neither stride 1
    b = torch.randn(k, c + 16, generator=gen)[:, 16:]
    start = torch.randn(m, c + 32, generator=gen)[:, 32:]
    expected = a.double() @ b.double()
    with use_native(True, isa):
        before = _native.calls
        out = _native.row_mm(a, b, torch.full((m, c), float("nan")))
        acc = start.clone()
        _native.row_mm(a, b, acc, accumulate=True)
        assert _native.calls == before + 2
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(acc.double(), start.double() + expected, rtol=1e-5, atol=1e-4)


def test_single_products_it_cannot_take_go_to_torch():
    cases = [
        (torch.randn(5, 7, dtype=torch.float64), torch.randn(7, 16, dtype=torch.float64)),
        (torch.randn(5, 7), torch.randn(7, 12)),  # not whole vectors
        (torch.randn(5, 7), torch.randn(16, 7).t()),  # strided columns
    ]
    for a, b in cases:
        before = _native.calls
        out = _native.row_mm(a, b, torch.empty(5, b.shape[1], dtype=a.dtype))
        torch.testing.assert_close(out, a @ b)
        start = torch.randn(5, b.shape[1], dtype=a.dtype)
        acc = _native.row_mm(a, b, start.clone(), accumulate=True)
        torch.testing.assert_close(acc, start + a @ b)
        assert _native.calls == before


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_rows_shared_out_by_thread_give_the_same_product(isa, threads):
    """`by_rows`: each thread a contiguous share of every position's rows (13 rows: shares of
    13, 7 + 6 and 5 + 4 + 4, each cut into tiles of its own), the rest as before."""
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(3, 13, 2 * 9, generator=gen)[:, :, ::2]
    b = torch.randn(3, 9, 80, generator=gen)
    bias = torch.randn(3, 80, generator=gen)
    start = torch.randn(3, 13, 80, generator=gen)
    expected = torch.bmm(a.double(), b.double())
    before_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with use_native(True, isa):
            before = _native.calls
            out = _native.row_bmm(a, b, torch.full((3, 13, 80), float("nan")), by_rows=True)
            acc = _native.row_bmm(a, b, start.clone(), accumulate=True, by_rows=True)
            biased = _native.row_bmm(a, b, torch.empty(3, 13, 80), bias=bias, by_rows=True)
            single = _native.row_mm(a[0], b[0], torch.full((13, 80), float("nan")), by_rows=True)
            assert _native.calls == before + 4
    finally:
        torch.set_num_threads(before_threads)
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(acc.double(), start.double() + expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(
        biased.double(), bias.double().unsqueeze(1) + expected, rtol=1e-5, atol=1e-4
    )
    torch.testing.assert_close(single.double(), expected[0], rtol=1e-5, atol=1e-4)


@needs_kernel
def test_a_wrong_kernel_would_be_caught():
    """The comparison above can fail: one element off in the kernel's input shows."""
    a, b = torch.randn(2, 9, 33), torch.randn(2, 33, 64)
    with use_native(True):
        out = _native.row_bmm(a, b, torch.empty(2, 9, 64))
    a[1, 8, 32] += 1.0
    assert not torch.allclose(out, torch.bmm(a, b), rtol=1e-5, atol=1e-5)


def test_products_it_cannot_take_go_to_torch():
    """Other dtypes, columns that are not whole vectors, strided columns: torch's product."""
    cases = [
        (torch.randn(2, 5, 7, dtype=torch.float64), torch.randn(2, 7, 16, dtype=torch.float64)),
        (torch.randn(2, 5, 7), torch.randn(2, 7, 12)),
        (torch.randn(2, 5, 7), torch.randn(2, 16, 7).transpose(1, 2)),
    ]
    for a, b in cases:
        out = torch.empty(a.shape[0], a.shape[1], b.shape[2], dtype=a.dtype)
        before = _native.calls
        torch.testing.assert_close(_native.row_bmm(a, b, out), torch.bmm(a, b))
        assert _native.calls == before  # torch's product, not the kernel


def test_a_bias_starts_the_sums_on_either_path():
    a, b, bias = torch.randn(3, 5, 7), torch.randn(3, 7, 16), torch.randn(3, 1, 16)
    for on in (False, True):
        with use_native(on):
            out = _native.row_bmm(a, b, torch.empty(3, 5, 16), bias=bias)
        torch.testing.assert_close(out, bias + a @ b)
    with pytest.raises(ValueError, match="cannot be added"):
        _native.row_bmm(a, b, torch.empty(3, 5, 16), accumulate=True, bias=bias)


def test_autograd_recording_is_left_to_torch():
    a = torch.randn(2, 5, 7, requires_grad=True)
    b = torch.randn(2, 7, 16)
    with pytest.raises(RuntimeError, match="out="):
        _native.row_bmm(a, b, torch.empty(2, 5, 16))  # torch refuses out= under autograd


def test_a_missing_compiler_is_one_line_and_torchs_products(monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-lrlc")
    _native._load.cache_clear()
    try:
        st = native_status()
        assert not st.available and "no C compiler" in st.reason and "CC" in st.reason
        assert "\n" not in st.reason
        a, b = torch.randn(2, 5, 7), torch.randn(2, 7, 16)
        torch.testing.assert_close(_native.row_bmm(a, b, torch.empty(2, 5, 16)), a @ b)
    finally:
        monkeypatch.delenv("CC")
        _native._load.cache_clear()


@needs_kernel
def test_a_cache_folder_it_cannot_make_is_skipped_for_the_next(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("LRLC_CACHE_DIR", str(blocker / "lrlc"))  # under a file: cannot exist
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _native._load.cache_clear()
    try:
        st = native_status()
        assert st.available and st.library.startswith(str(tmp_path / "xdg")), st
    finally:
        _native._load.cache_clear()


@needs_kernel
def test_a_corrupt_cached_library_is_built_again(monkeypatch, tmp_path):
    monkeypatch.setenv("LRLC_CACHE_DIR", str(tmp_path))
    _native._load.cache_clear()
    try:
        built = Path(native_status().library)
    finally:
        _native._load.cache_clear()
    # As a full disk might leave it. A new file, since this process maps the old one, and
    # read by a new process, since dlopen would hand this one the library it has loaded.
    built.unlink()
    built.write_bytes(b"not a shared object")
    code = "from lrlc.functional import native_status as s; print(s().reason)"
    env = {**os.environ, "LRLC_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("built,"), out.stdout + out.stderr
    assert built.read_bytes()[:4] == b"\x7fELF"


def test_switched_off_says_so():
    with use_native(False):
        assert not native_status().available
        assert "LRLC_NATIVE=0" in native_status().reason
    with pytest.raises(ValueError, match="isa must be one of"):
        with use_native(True, "SSE"):
            pass


def _layers():
    torch.manual_seed(0)
    lrlc = LowRankLocallyConnected2d(16, 32, 3, input_size=(9, 10), rank=3, padding=1)
    dil = LowRankLocallyConnected2d(16, 16, 3, input_size=(11, 11), rank=2, dilation=(1, 2))
    strided = LowRankLocallyConnected2d(16, 16, 3, input_size=(11, 11), rank=4, stride=2)
    # dL/dx by rows with rows dilated (an input row complete only after later output rows)
    # and strided (rows that no output row reads: zero)
    rows = LowRankLocallyConnected2d(16, 16, 3, input_size=(9, 8), rank=3, padding="same",
                                     dilation=(2, 1))  # fmt: skip
    skips = LowRankLocallyConnected2d(16, 16, 3, input_size=(11, 8), rank=2, stride=(2, 1),
                                      padding=(2, 1), dilation=(2, 1))  # fmt: skip
    # K a multiple of the vector width, above DOTS_MAX_RANK: dw through the tiles (the others:
    # dot products, `_basis_dw`)
    wide = LowRankLocallyConnected2d(16, 16, 3, input_size=(8, 8), rank=16)
    # K = H_out * W_out: filters built, and their gradients sent back, a block of rows a call
    full = LowRankLocallyConnected2d(16, 16, 3, input_size=(6, 6), rank=16, combining="full")
    lc = LocallyConnected2d(16, 32, 3, input_size=(8, 9))
    for layer in (lrlc, dil, strided, rows, skips, wide, full):
        with torch.no_grad():  # away from the conv init, so that every position differs
            for p in layer.parameters():
                p.add_(torch.randn_like(p) * 0.3)
    return {
        "lrlc": lrlc, "dilated": dil, "strided": strided, "dilated_rows": rows,
        "skipped_rows": skips, "rank16": wide, "full": full, "lc": lc,
    }  # fmt: skip


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last], ids=str)
@pytest.mark.parametrize(
    "name",
    ["lrlc", "dilated", "strided", "dilated_rows", "skipped_rows", "rank16", "full", "lc"],
)
def test_layers_train_the_same_with_the_compiled_products(isa, fmt, name):
    layer = _layers()[name]
    if name != "lc":
        layer.path = "kernel"
    layer = layer.to(memory_format=fmt)
    size = layer.input_size
    x = torch.randn(5, 16, *size).to(memory_format=fmt)
    path = getattr(layer, "path", None)
    before = _native.calls
    with use_native(False):
        ref = grads(layer, x, path)
    assert _native.calls == before
    with use_native(True, isa):
        got = grads(layer, x, path)
    assert _native.calls > before  # the compiled products did run
    torch.testing.assert_close(got[0], ref[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got[1], ref[1], rtol=1e-5, atol=1e-5)
    assert got[2].keys() == ref[2].keys() and got[2]
    for key in ref[2]:
        torch.testing.assert_close(got[2][key], ref[2][key], rtol=1e-4, atol=1e-4, msg=key)


needs_pairs = pytest.mark.skipif(
    not (HAVE_KERNEL and _native._cpu_has_bf16_pairs()), reason="needs AVX512-BF16 and a compiler"
)


@needs_pairs
@pytest.mark.parametrize("shape", [(22, 40, 192, 64), (3, 13, 8, 16), (4, 9, 34, 80)], ids=str)
def test_the_bf16_kernel_is_the_product_of_its_bf16_operands(shape):
    p, m, k, c = shape
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(p, m + 2, k + 6, generator=gen).bfloat16()[:, 1 : m + 1, 3 : k + 3]
    b = torch.randn(p, k, c, generator=gen).bfloat16()
    pairs = b.view(p, k // 2, 2, c).transpose(2, 3).contiguous()  # (P, K/2, C, 2)
    bias = torch.randn(p, c, generator=gen)
    exact = torch.bmm(a.double(), b.double())  # bf16 products are exact in float32
    out = torch.full((p, m, c), float("nan"))
    _native.pairs_bmm(a, pairs, out, bias=bias)
    torch.testing.assert_close(out.double(), exact + bias.double()[:, None], rtol=1e-5, atol=1e-4)
    _native.pairs_bmm(a, pairs, out, accumulate=True)
    torch.testing.assert_close(out.double(), 2 * exact + bias.double()[:, None], rtol=1e-5,
                               atol=2e-4)  # fmt: skip
    with pytest.raises(ValueError, match="operands it does not take"):
        _native.pairs_bmm(a, b, out)  # b not interleaved by pairs


@needs_pairs
@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last], ids=str)
def test_the_bf16_forward_runs_the_pairs_kernel_and_keeps_bf16s_accuracy(fmt):
    torch.manual_seed(0)
    layer = LowRankLocallyConnected2d(8, 16, 3, input_size=(9, 10), rank=3, padding=1)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    layer.path = "kernel"
    layer = layer.to(memory_format=fmt)
    x = torch.randn(4, 8, 9, 10).to(memory_format=fmt)
    exact = copy.deepcopy(layer).double()(x.double()).detach()
    outs = {}
    for on in (False, True):
        before = _native.calls
        with use_native(on), torch.autocast("cpu", dtype=torch.bfloat16):
            y = layer(x)
        ran = _native.calls - before
        assert y.dtype == torch.bfloat16 and y.is_contiguous(memory_format=fmt)
        outs[on] = y.double()
    assert ran == 3 * 9  # one pairs_bmm per output row and kernel row (use_native(True))
    scale = exact.abs().max()
    for on, y in outs.items():  # bf16 operands: errors ~2^-8 of the scale, either way
        assert (y - exact).abs().max() <= 0.02 * scale, on
    # The pairs kernel sums a row's products in float32 and rounds once: no less accurate
    assert (outs[True] - exact).abs().max() <= (outs[False] - exact).abs().max() * 1.5

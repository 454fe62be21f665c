"""Operands packed in panels (`pack_panels`): each tile's columns of all K rows one block, which
the compiled kernel reads as a right operand, or writes as the output, instead of K rows far
apart. The products equal torch's on the plain operands, last panels cut short included,
and the kernel path's builds, placed filters and bases' gradient read and write them."""

import pytest
import torch

from lrlc.functional import _native, use_native
from lrlc.functional._basis_rows import BasisKernels
from lrlc.functional._kernel_path import _geometry
from lrlc.functional._native import ISAS as NATIVE_ISAS
from lrlc.functional._native import pack_panels
from lrlc.functional._rows import forward_rows, pad_nhwc

from .test_native import ISAS, needs_kernel

CL = torch.channels_last
TOL = {"rtol": 1e-5, "atol": 1e-4}


def _columns(isa: str) -> int:
    """Columns that leave the last panel short: 80 of 2 x 64 (AVX-512), 40 of 3 x 16 (AVX2)."""
    return 80 if isa == "AVX512" else 40


def test_panels_hold_each_tiles_columns_of_every_row_and_zeros_past_the_end():
    b = torch.arange(3 * 10, dtype=torch.float32).view(3, 10)
    packed = pack_panels(b, 4)
    assert packed.shape == (3, 3, 4) and packed.is_contiguous()
    for t in range(3):
        for k in range(3):
            for w in range(4):
                col = 4 * t + w
                assert packed[t, k, w] == (b[k, col] if col < 10 else 0)
    batch = pack_panels(torch.stack([b, -b]), 4)  # leading dimensions kept
    assert torch.equal(batch[1], -packed)
    whole = pack_panels(b[:, :8], 4)  # columns that fill whole panels: no padding
    assert whole.shape == (2, 3, 4) and torch.equal(whole, packed[:2])


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
def test_products_read_a_packed_right_operand(isa):
    c = _columns(isa)
    width = NATIVE_ISAS[isa][2]
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(7, 2 * 9, generator=gen)[:, ::2]  # (M, K) strided
    b = torch.randn(9, c, generator=gen)
    a3 = torch.randn(3, 13, 9, generator=gen)
    b3 = torch.randn(3, 9, c, generator=gen)
    start = torch.randn(7, c, generator=gen)
    with use_native(True, isa):
        before = _native.calls
        out = _native.row_mm(a, b, torch.full((7, c), float("nan")), packed=pack_panels(b, width))
        acc = _native.row_mm(a, b, start.clone(), True, by_rows=True, packed=pack_panels(b, width))
        out3 = torch.full((3, 13, c), float("nan"))
        _native.row_bmm(a3, b3, out3, by_rows=True, packed=pack_panels(b3, width))
        assert _native.calls == before + 3
    torch.testing.assert_close(out.double(), a.double() @ b.double(), **TOL)
    torch.testing.assert_close(acc.double(), start.double() + a.double() @ b.double(), **TOL)
    torch.testing.assert_close(out3.double(), torch.bmm(a3.double(), b3.double()), **TOL)


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("native", [True, False])
def test_products_write_a_packed_output_on_either_path(isa, native):
    c = _columns(isa)
    width = NATIVE_ISAS[isa][2]
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(22, 5, generator=gen).t()  # (K, W_out) as dF reads w
    b = torch.randn(22, c, generator=gen)
    start = torch.randn(5, c, generator=gen)
    out = torch.empty(5, c)
    with use_native(native, isa):
        before = _native.calls
        fresh = _native.row_mm(
            a, b, out, out_packed=torch.full((2 if c == 80 else 3, 5, width), 1.0)
        )
        summed = _native.row_mm(a, b, out, True, out_packed=pack_panels(start, width))
        assert _native.calls == before + (2 if native else 0)
    expected = a.double() @ b.double()
    unpack = lambda p: p.transpose(0, 1).reshape(5, -1)[:, :c].double()  # noqa: E731
    torch.testing.assert_close(unpack(fresh), expected, **TOL)
    torch.testing.assert_close(unpack(summed), start.double() + expected, **TOL)
    assert (fresh.transpose(0, 1).reshape(5, -1)[:, c:] == 1.0).all()  # past the end: untouched


@needs_kernel
def test_panels_of_another_width_are_not_read_and_not_written():
    b = torch.randn(9, 64)
    a = torch.randn(7, 9)
    with use_native(True, "AVX2"):  # tiles of 16 columns: panels of 64 are not its operand
        out = _native.row_mm(a, b, torch.empty(7, 64), packed=pack_panels(b, 64))
        torch.testing.assert_close(out, a @ b)  # read b instead
        with pytest.raises(ValueError, match="out_packed"):
            _native.row_mm(a, b, torch.empty(7, 64), out_packed=pack_panels(out, 64))


@needs_kernel
def test_a_wrong_panel_would_be_caught():
    """The comparisons above can fail: panels swapped give another product."""
    b = torch.randn(9, 128)
    a = torch.randn(7, 9)
    with use_native(True, "AVX512" if _native.panel_width() == 64 else "AVX2"):
        width = _native.panel_width()
        packed = pack_panels(b, width).flip(0).contiguous()
        out = _native.row_mm(a, b, torch.empty(7, 128), packed=packed)
    assert not torch.allclose(out, a @ b, **TOL)


def _basis_case(c_in: int, c_out: int, rank: int = 5):
    gen = torch.Generator().manual_seed(2)
    bases = torch.randn(rank, c_out, c_in, 3, 3, generator=gen)
    weights = torch.softmax(torch.randn(rank, 6, 10, generator=gen), 0)
    x = torch.randn(3, c_in, 8, 12, generator=gen).to(memory_format=CL)
    return bases, weights, x


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
def test_the_kernel_paths_parts_read_and_write_panels(isa):
    """Its builds (whole forward), placed filters and bases' gradient, with X = 3 * C_in *
    C_out leaving the last panel short, equal torch's on the plain layouts."""
    c_in, c_out = (7, 16) if isa == "AVX512" else (5, 8)  # X = 336 = 5.25 x 64, 120 = 7.5 x 16
    bases, weights, x = _basis_case(c_in, c_out)
    xp = pad_nhwc(x, (0, 0, 0, 0), torch.float32)
    geo = _geometry(xp, (3, 3), (1, 1), (1, 1), (6, 10))
    grad = torch.randn(10, c_out, 3 * c_in)
    diag_ref, diag = torch.zeros(12, 3, c_out, c_in), torch.zeros(12, 3, c_out, c_in)
    with use_native(False):
        plain = BasisKernels(bases, weights, need_grads=True)
        ref = forward_rows(xp, plain, geo, CL)
        plain.place_transposed(2, 1, diag_ref)
        for i in range(6):
            for a in range(3):
                plain.add_grad(i, a, grad * (i + a))
        d_ref = plain.bases_grad(bases.shape)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # 10 columns: 5 a thread, the whole forward runs
    try:
        with use_native(True, isa):
            packed = BasisKernels(bases, weights, need_grads=True)
            assert packed.whole_source()[3] is not None and packed._d_panels is not None
            before = _native.calls
            got = forward_rows(xp, packed, geo, CL)
            assert _native.calls == before + 1  # the whole forward, from the packed bases
            packed.place_transposed(2, 1, diag)
            assert packed._flat_t_tap_panels is not None
            for i in range(6):
                for a in range(3):
                    packed.add_grad(i, a, grad * (i + a))
            d_got = packed.bases_grad(bases.shape)
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(got, ref, **TOL)
    torch.testing.assert_close(diag, diag_ref, **TOL)
    torch.testing.assert_close(d_got, d_ref, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(packed.d_weights, plain.d_weights, rtol=1e-5, atol=1e-3)

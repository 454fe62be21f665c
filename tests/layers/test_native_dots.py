"""dw's dot products (`_native.dots.row_dots`, `lc_dots.c`): out (M, K) (+)= a (M, X) @ F^T with
F in the compiled kernel's panels, equal to the product in float64 for every shape of tile
the kernel cuts (rows and bases that do not fill a tile, a last panel cut short, more than
one chunk of X), any thread count and both instruction sets, into an output of any strides;
torch's product where the kernel does not run."""

import pytest
import torch

from lrlc.functional import _native, use_native
from lrlc.functional._native import ISAS as NATIVE_ISAS
from lrlc.functional._native import pack_panels
from lrlc.functional._native.dots import dots_operands_ok, row_dots

from .test_native import ISAS, needs_kernel


def _operands(m, k, x, width, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(m, x, generator=g)
    f = torch.randn(k, x, generator=g)
    return a, f, pack_panels(f, width)


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "m,k,panels,tail",
    [
        (1, 1, 1, 0),
        (5, 3, 2, 1),  # rows and bases short of a tile; one vector past the whole panels
        (13, 9, 3, 0),  # 13 rows over 1-3 threads: shares of 4-5 rows, tiles of 4 / 3
        (22, 32, 37, 0),  # the kernel path's dw at K = 32; X over two chunks of 16 panels
        (7, 6, 16, 2),  # the tail in the chunk after a whole chunk
    ],
)
def test_dots_equal_the_product(isa, threads, m, k, panels, tail):
    width, vec = NATIVE_ISAS[isa][2], NATIVE_ISAS[isa][1]
    x = panels * width + tail * vec
    a, f, packed = _operands(m, k, x, width)
    want = a.double() @ f.double().t()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with use_native(True, isa), torch.no_grad():
            out = torch.full((k, m), float("nan")).t()  # (M, K), columns m apart (dw's rows)
            calls = _native.calls
            row_dots(a, packed, out)
            assert _native.calls == calls + 1
            torch.testing.assert_close(out.double(), want, rtol=1e-5, atol=1e-4)
            row_dots(a, packed, out, accumulate=True)
            torch.testing.assert_close(out.double(), 2 * want, rtol=1e-5, atol=2e-4)
    finally:
        torch.set_num_threads(before)


def test_torch_computes_them_where_the_kernel_does_not_run():
    a, f, packed = _operands(4, 3, 40, 16)
    out = torch.zeros(4, 3)
    with use_native(False):
        calls = _native.calls
        row_dots(a, packed, out)
        row_dots(a, packed, out, accumulate=True)
        assert _native.calls == calls
    torch.testing.assert_close(out, 2 * (a @ f.t()), rtol=1e-5, atol=1e-4)


@needs_kernel
def test_operands_the_kernel_cannot_read_are_refused():
    isa = _native.status().isa
    width, vec = NATIVE_ISAS[isa][2], NATIVE_ISAS[isa][1]
    a, f, packed = _operands(4, 3, 2 * width, width)
    out = torch.empty(4, 3)
    assert dots_operands_ok(a, packed, out, isa)
    assert not dots_operands_ok(a, packed, out, None)  # no kernel
    assert not dots_operands_ok(a.t().contiguous().t(), packed, out, isa)  # strided rows
    assert not dots_operands_ok(a[:, : vec + 1], packed, out, isa)  # X not whole vectors
    assert not dots_operands_ok(a, packed, torch.empty(4, 2), isa)  # out's shape
    assert not dots_operands_ok(a, pack_panels(f, width // 2), out, isa)  # other panels
    assert not dots_operands_ok(a.double(), packed.double(), out.double(), isa)
    assert not dots_operands_ok(a.requires_grad_(), packed, out, isa)  # autograd records it

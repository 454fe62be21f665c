"""The layout copies (`_native.layout`, `lc_layout.c`): `transposed_copy(dst, src)` equals
`dst.copy_(src)` element for element for every shape of block the kernel cuts (8 x 8 blocks,
edges of 1-7 rows and columns, one element), one or two batch dimensions, a destination inside
a larger tensor, any thread count and both instruction sets; torch's copy where the kernel
does not run or the copy is not a transpose; and the kernel path's layout changes through it
(the padded input, the NCHW output and dL/dx)."""

import pytest
import torch

from lrlc.functional import use_native
from lrlc.functional._input_grads import unpad_grad
from lrlc.functional._native import layout
from lrlc.functional._native.layout import contiguous_nchw, transposed_copy, transposes
from lrlc.functional._rows import pad_hnwc, pad_nhwc

from .test_native import HAVE_KERNEL, ISAS, needs_kernel


def _ran(fn) -> int:
    """How many compiled copies fn made."""
    before = layout.copies
    fn()
    return layout.copies - before


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "shape",
    [
        (1, 1, 1, 1),  # one element: no whole block
        (2, 3, 8, 16),  # whole blocks only
        (3, 2, 13, 21),  # edges of 5 rows and 5 columns
        (5, 7, 9),  # three dimensions: one batch dimension
        (64, 7),  # two: one matrix, columns short of a block
    ],
)
def test_transposed_copy_equals_copy(isa, threads, shape):
    g = torch.Generator().manual_seed(len(shape) * 100 + shape[-1])
    src = torch.randn(*shape, generator=g)  # last dimension contiguous
    # dst with its second last dimension contiguous, inside a larger tensor (as the padded
    # input's interior): its batch strides are not those of a dense tensor
    big = torch.full((*shape[:-2], shape[-1] + 3, shape[-2] + 2), float("nan"))
    dst = big[..., 1 : 1 + shape[-1], 2 : 2 + shape[-2]].transpose(-1, -2)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with use_native(True, isa):
            assert transposes(dst, src)
            assert _ran(lambda: transposed_copy(dst, src)) == 1
            assert torch.equal(dst, src)
            # the other way round: src with its second last dimension contiguous
            back = torch.empty(shape)
            assert _ran(lambda: transposed_copy(back, dst)) == 1
            assert torch.equal(back, src)
    finally:
        torch.set_num_threads(before)
    assert torch.isnan(big[..., 0, :]).all()  # nothing written outside dst
    assert torch.isnan(big[..., :, :2]).all()


@needs_kernel
@pytest.mark.parametrize(
    "make",
    [
        lambda s: (torch.empty(4, 5), s),  # both with contiguous rows: not a transpose
        lambda s: (torch.empty(5, 4).t(), s.double()),  # float64
    ],
)
def test_copies_that_are_not_float32_transposes_are_torch_s(make):
    src = torch.randn(4, 5)
    dst, s = make(src)
    assert not transposes(dst, s)
    assert _ran(lambda: transposed_copy(dst, s)) == 0
    torch.testing.assert_close(dst, s.to(dst.dtype), rtol=0, atol=0)


@needs_kernel
def test_a_copy_autograd_records_is_torch_s():
    src = torch.randn(6, 9, requires_grad=True)
    dst = torch.empty(9, 6).t()
    assert not transposes(dst, src)
    with torch.no_grad():
        assert transposes(dst, src)


def test_torch_copies_where_the_kernel_does_not_run():
    src = torch.randn(3, 10, 12)
    dst = torch.empty(3, 12, 10).transpose(1, 2)
    with use_native(False):
        assert not transposes(dst, src)
        assert _ran(lambda: transposed_copy(dst, src)) == 0
    assert torch.equal(dst, src)


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize("pad", [(0, 0, 0, 0), (1, 2, 0, 1)])
def test_the_kernel_paths_layout_changes(native, pad):
    """The padded input in both orders, and an NHWC result back to NCHW, as torch's copies
    make them, through the kernel where it runs."""
    x = torch.randn(3, 16, 9, 10)  # NCHW
    left, right, top, bottom = pad
    padded = torch.nn.functional.pad(x, pad)  # (N, C, Hp, Wp)
    with use_native(native):
        made = _ran(lambda: torch.equal(pad_hnwc(x, pad), padded.permute(2, 0, 3, 1)))
        assert made == (1 if native and HAVE_KERNEL else 0)
        assert torch.equal(pad_hnwc(x, pad), padded.permute(2, 0, 3, 1))
        assert torch.equal(pad_nhwc(x, pad, torch.float32), padded.permute(2, 0, 3, 1))
        cl = x.contiguous(memory_format=torch.channels_last)
        back = contiguous_nchw(cl)
        assert back.is_contiguous() and torch.equal(back, x)
        assert contiguous_nchw(x) is x
        dx = unpad_grad(padded.permute(0, 2, 3, 1), pad, (9, 10), torch.contiguous_format)
        assert dx.is_contiguous() and torch.equal(dx, x)

"""The backward of strided geometries through the compiled kernel, in one call (the program,
`_backward_program._strided_in_one_call`) and in the row loop (`_scatter_by_products`): dL/dx
as each kernel row's products added straight into d(xp)'s row, positions whose input columns
overlap in separate products; every gradient equal to torch's products' (and through them,
to the naive loop: the float64 tests of `test_kernel_path.py`)."""

import pytest
import torch

from lrlc.functional import _backward_program as bp
from lrlc.functional import _native, use_native
from lrlc.functional import _rows_backward as rb
from lrlc.layers import LocallyConnected2d, LowRankLocallyConnected2d

from .test_native import ISAS, needs_kernel


def _grads(layer, x, g):
    layer.zero_grad()
    x = x.detach().clone().requires_grad_()
    layer(x).backward(g)
    return x.grad, {name: p.grad.clone() for name, p in layer.named_parameters()}


@needs_kernel
@pytest.mark.parametrize("way", ["one call", "row loop"])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize(
    "kernel,stride,padding,fmt",
    [
        (3, (2, 2), 1, torch.channels_last),  # blocks of 3 columns 2 apart: two products a row
        (3, (3, 2), 0, torch.contiguous_format),
        (3, (1, 3), 1, torch.channels_last),  # 3 apart: no overlap, one product
        (3, (2, 1), 1, torch.channels_last),  # 1 apart: three products a row
        ((3, 5), (2, 2), 2, torch.channels_last),  # 5 columns 2 apart: three products
        (1, (2, 2), 0, torch.contiguous_format),  # one column: one product
    ],
    ids=str,
)
def test_strided_backward_through_the_compiled_kernel(
    way, isa, threads, kernel, stride, padding, fmt
):
    torch.manual_seed(0)
    layer = LowRankLocallyConnected2d(
        16, 16, kernel, input_size=(11, 13), rank=3, stride=stride, padding=padding,
        path="kernel",
    ).to(memory_format=fmt)  # fmt: skip
    x = torch.randn(4, 16, 11, 13).to(memory_format=fmt)
    g = torch.randn_like(layer(x))
    with use_native(False):
        dx_ref, ref = _grads(layer, x, g)
    scattered, programs = [], []
    real_scatter, real_strided = rb._scatter_by_products, bp._strided_in_one_call

    def spy(*args):
        scattered.append(1)
        real_scatter(*args)

    def strided(*args):
        ran = (False, None) if way == "row loop" else real_strided(*args)
        programs.append(ran[0])
        return ran

    before_threads = torch.get_num_threads()
    rb._scatter_by_products, bp._strided_in_one_call = spy, strided
    torch.set_num_threads(threads)
    try:
        with use_native(True, isa):
            dx, got = _grads(layer, x, g)
    finally:
        rb._scatter_by_products, bp._strided_in_one_call = real_scatter, real_strided
        torch.set_num_threads(before_threads)
    assert programs == [way == "one call"]
    # the row loop scatters where the stride along W is above 1 (else: the transposed product)
    assert bool(scattered) == (way == "row loop" and stride[1] > 1)
    torch.testing.assert_close(dx, dx_ref, rtol=1e-4, atol=1e-4)
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], rtol=1e-4, atol=2e-4, msg=name)


@needs_kernel
@pytest.mark.parametrize("fmt", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize(
    "kind,stride,dilation",
    [("lc", 2, 1), ("lc", 1, 2), ("lrlc", (2, 1), (1, 2)), ("lrlc", 2, 2)],
    ids=str,
)
def test_the_row_loops_scattered_input_grads_through_the_compiled_products(
    fmt, kind, stride, dilation
):
    """The row loop's scattered dL/dx (strided `LocallyConnected2d`, dilated columns: one
    product per tap, `_scatter_by_taps`) through the compiled kernel, against the layer in
    float64 (checked against the naive loop in `test_kernel_path.py`)."""
    torch.manual_seed(0)
    shape = dict(input_size=(11, 13), stride=stride, padding=2, dilation=dilation)
    if kind == "lc":
        layer = LocallyConnected2d(16, 16, 3, **shape)
    else:
        layer = LowRankLocallyConnected2d(16, 16, 3, rank=3, path="kernel", **shape)
    layer = layer.to(memory_format=fmt)
    x = torch.randn(4, 16, 11, 13).to(memory_format=fmt)
    g = torch.randn_like(layer(x))
    dx_ref, ref = _grads(layer.double(), x.double(), g.double())
    layer = layer.float()
    with use_native(True):
        calls = _native.calls
        dx, got = _grads(layer, x, g)
        assert _native.calls > calls
    torch.testing.assert_close(dx, dx_ref.float(), rtol=1e-4, atol=1e-4)
    for name in ref:
        torch.testing.assert_close(got[name], ref[name].float(), rtol=1e-4, atol=2e-4, msg=name)

"""dL/dx of strided geometries (`_rows_backward._scatter_by_products`): each kernel row's
products added straight into d(xp)'s row through the compiled kernel, positions whose input
columns overlap in separate products, equal to torch's products (and through them, to the
naive loop: the float64 tests of `test_kernel_path.py`)."""

import pytest
import torch

from lrlc.functional import _native, use_native
from lrlc.functional import _rows_backward as rb
from lrlc.layers import LowRankLocallyConnected2d

from .test_native import ISAS, needs_kernel


def _grads(layer, x, g):
    layer.zero_grad()
    x = x.detach().clone().requires_grad_()
    layer(x).backward(g)
    return x.grad, {name: p.grad.clone() for name, p in layer.named_parameters()}


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize(
    "stride,padding,fmt",
    [
        ((2, 2), 1, torch.channels_last),  # blocks of 3 columns 2 apart: two products a row
        ((3, 2), 0, torch.contiguous_format),
        ((1, 3), 1, torch.channels_last),  # 3 apart: no overlap, one product
    ],
    ids=str,
)
def test_strided_input_grads_through_the_compiled_products(isa, threads, stride, padding, fmt):
    torch.manual_seed(0)
    layer = LowRankLocallyConnected2d(
        16, 16, 3, input_size=(11, 13), rank=3, stride=stride, padding=padding, path="kernel"
    ).to(memory_format=fmt)
    x = torch.randn(4, 16, 11, 13).to(memory_format=fmt)
    g = torch.randn_like(layer(x))
    with use_native(False):
        dx_ref, ref = _grads(layer, x, g)
    scattered = []
    real = rb._scatter_by_products

    def spy(*args):
        scattered.append(1)
        real(*args)

    before_threads = torch.get_num_threads()
    rb._scatter_by_products = spy
    torch.set_num_threads(threads)
    try:
        with use_native(True, isa):
            calls = _native.calls
            dx, got = _grads(layer, x, g)
            assert _native.calls > calls
    finally:
        rb._scatter_by_products = real
        torch.set_num_threads(before_threads)
    assert scattered  # the strided dL/dx went through the products
    torch.testing.assert_close(dx, dx_ref, rtol=1e-4, atol=1e-4)
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], rtol=1e-4, atol=2e-4, msg=name)

"""`add_bias_map`: out + bias with the batch sum of its backward in the gradient's memory
order, against autograd's own broadcast add."""

import pytest
import torch

from lrlc import LowRankLocallyConnected2d
from lrlc.functional import add_bias_map, batch_sum_to

FORMATS = [torch.contiguous_format, torch.channels_last]
SHAPES = [(5, 4, 6), (1, 4, 6), (5, 1, 1), (4, 6)]


@pytest.mark.parametrize("fmt", FORMATS, ids=["nchw", "channels_last"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_values_and_gradients_are_the_broadcast_add(fmt, shape):
    out = torch.randn(3, 5, 4, 6, dtype=torch.float64).contiguous(memory_format=fmt)
    out.requires_grad_(True)
    bias = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(3, 5, 4, 6, dtype=torch.float64).contiguous(memory_format=fmt)
    got = add_bias_map(out, bias)
    d_out, d_bias = torch.autograd.grad(got, (out, bias), grad)
    ref = out + bias
    r_out, r_bias = torch.autograd.grad(ref, (out, bias), grad)
    torch.testing.assert_close(got, ref, rtol=0, atol=0)
    torch.testing.assert_close(d_out, r_out, rtol=0, atol=0)
    assert d_bias.shape == bias.shape
    # the naive sum: every image's gradient, summed over the broadcast dimensions
    naive = torch.zeros_like(bias)
    for n in range(3):
        naive += grad[n].sum_to_size(bias.shape)
    torch.testing.assert_close(d_bias, naive, rtol=1e-12, atol=1e-12)


def test_the_bias_keeps_its_dtype_and_the_sum_reads_a_channels_last_gradient_as_is():
    out = torch.randn(2, 3, 4, 5).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    bias = torch.randn(3, 4, 5, requires_grad=True)
    y = add_bias_map(out, bias)
    assert y.dtype == torch.bfloat16 and y.is_contiguous(memory_format=torch.channels_last)
    y.float().sum().backward()
    assert bias.grad.dtype == torch.float32
    torch.testing.assert_close(bias.grad, torch.full((3, 4, 5), 2.0))
    g = torch.arange(2 * 3 * 4 * 5.0).view(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(batch_sum_to(g, (3, 4, 5)), g.sum(0))


def test_without_autograd_it_is_a_plain_add():
    out, bias = torch.randn(2, 3, 4, 5), torch.randn(3, 4, 5)
    with torch.no_grad():
        torch.testing.assert_close(add_bias_map(out, bias.requires_grad_()), out + bias)


def test_the_kernel_paths_spatial_bias_gradient_matches_algorithm_1():
    # A channels_last input gives a channels_last output: the case the memory-order sum is for.
    layer = LowRankLocallyConnected2d(3, 4, 3, input_size=7, rank=3).double()
    with torch.no_grad():
        for p in (layer.bias_row, layer.bias_col, layer.bias):
            p.normal_()
    x = torch.randn(5, 3, 7, 7, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    got = {}
    for path in ("basis", "kernel"):
        layer.path = path
        layer.zero_grad()
        out = layer(x)
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out))
        got[path] = [p.grad.clone() for p in (layer.bias_row, layer.bias_col, layer.bias)]
    assert layer(x).is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(got["basis"], got["kernel"]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)

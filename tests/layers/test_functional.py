"""Shape arithmetic and normalisation, checked against hand values and nn.Conv2d."""

import pytest
import torch
from torch import nn

from lrlc.layers import functional as LF

from ._reference import naive_softmax


@pytest.mark.parametrize(
    "size,kernel,stride,dilation,expected",
    [
        # (left, right, top, bottom); TF "same": total = (ceil(n/s)-1)*s + ext - n, extra at end
        ((9, 7), (3, 3), (2, 2), (2, 2), (2, 2, 2, 2)),
        ((8, 8), (3, 3), (2, 2), (1, 1), (0, 1, 0, 1)),
        ((5, 6), (4, 2), (1, 1), (1, 1), (0, 1, 1, 2)),
        ((4, 4), (1, 1), (2, 2), (1, 1), (0, 0, 0, 0)),
    ],
)
def test_same_padding_hand_values(size, kernel, stride, dilation, expected):
    assert LF.resolve_padding("same", size, kernel, stride, dilation) == expected


@pytest.mark.parametrize("kernel,dilation", [((3, 3), (1, 1)), ((4, 2), (1, 3)), ((2, 5), (2, 1))])
def test_same_padding_equals_torch_at_stride_one(kernel, dilation):
    x = torch.randn(1, 2, 7, 9, dtype=torch.float64)
    conv = nn.Conv2d(2, 3, kernel, padding="same", dilation=dilation, bias=False).double()
    pad = LF.resolve_padding("same", (7, 9), kernel, (1, 1), dilation)
    ours = LF.conv2d_padded(x, conv.weight, (1, 1), pad, dilation)
    torch.testing.assert_close(ours, conv(x))


@pytest.mark.parametrize("padding", [0, 2, (1, 3), "valid"])
@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), ((2, 3), (1, 2))])
def test_output_size_equals_conv2d(padding, stride, dilation):
    conv = nn.Conv2d(1, 1, (3, 2), stride=stride, padding=padding, dilation=dilation)
    out = conv(torch.zeros(1, 1, 11, 10)).shape[-2:]
    pad = LF.resolve_padding(padding, (11, 10), (3, 2), LF.to_pair(stride), LF.to_pair(dilation))
    size = LF.conv_output_size((11, 10), (3, 2), LF.to_pair(stride), pad, LF.to_pair(dilation))
    assert size == tuple(out)


def test_softmax_is_float32_under_bf16():
    logits = torch.randn(4, 5, 6).to(torch.bfloat16)
    w = LF.normalize_combining(logits, "softmax", dim=0)
    assert w.dtype == torch.float32
    torch.testing.assert_close(w, naive_softmax(logits.float(), 0))


def test_combine_bases_matches_weighted_sum():
    r = torch.randn(2, 3, 4, 5, 6, dtype=torch.float64)
    w = torch.randn(3, 5, 6, dtype=torch.float64)
    expected = (r * w[None, :, None]).sum(1)
    torch.testing.assert_close(LF.combine_bases(r, w), expected)
    torch.testing.assert_close(LF.combine_bases_reference(r, w), expected)
    wn = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(LF.combine_bases(r, wn), (r * wn[:, :, None]).sum(1))


def test_too_small_input_is_an_error():
    with pytest.raises(ValueError, match=r"too small"):
        LF.conv_output_size((2, 2), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1))


@pytest.mark.parametrize("weights_shape", [(3, 5, 6), (2, 3, 5, 6)])
def test_fast_combine_has_the_outputs_and_gradients_of_the_plain_one(weights_shape):
    r = torch.randn(2, 3, 4, 5, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*weights_shape, dtype=torch.float64, requires_grad=True)
    fast, plain = LF.combine_bases(r, w), LF.combine_bases_reference(r, w)
    torch.testing.assert_close(fast, plain)
    g = torch.randn_like(fast)
    grads_fast = torch.autograd.grad(fast, (r, w), g)
    grads_plain = torch.autograd.grad(plain, (r, w), g)
    for a, b in zip(grads_fast, grads_plain):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(LF.combine_bases, (r, w))

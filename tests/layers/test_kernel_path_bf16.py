"""The kernel path under bf16 autocast on the CPU (its own routes through the row products:
patches copied for torch's bf16 products, dF summed in float32), against float64 references:
the naive loop and Algorithm 1."""

import pytest
import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.functional import low_rank_locally_connected2d
from lrlc.functional._basis_rows import rows_per_block

from ._reference import naive_local
from .conftest import randomize_
from .test_kernel_path import grads


def test_kernel_path_under_bf16_autocast_is_close_to_float32():
    layer = randomize_(LowRankLocallyConnected2d(4, 5, 3, input_size=(9, 9), rank=4, path="kernel"))
    x = torch.randn(4, 4, 9, 9)
    ref = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype in (torch.bfloat16, torch.float32)
    torch.testing.assert_close(out.float(), ref, rtol=5e-2, atol=5e-2)


@pytest.mark.parametrize("dilation", [1, (1, 2)])  # the grouped and the per-column dW
def test_kernel_path_gradients_under_bf16_are_close_to_float64(dilation):
    # In bf16 on a CPU the patches are copied before dW's product (`_copy_patches`); every
    # gradient must still be Algorithm 1's.
    layer = randomize_(LowRankLocallyConnected2d(6, 5, 3, input_size=9, rank=3, dilation=dilation))
    x = torch.randn(4, 6, 9, 9)
    out64, dx64, named64 = grads(layer.double(), x.double(), "basis")
    layer.float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, dx, named = grads(layer, x, "kernel")
    assert out.dtype == torch.bfloat16 and named.keys() == named64.keys()
    pairs = [(out, out64), (dx, dx64)] + [(named[n], named64[n]) for n in named64]
    for got, ref in pairs:
        scale = ref.abs().max().item()
        torch.testing.assert_close(got.double(), ref, rtol=0, atol=2e-2 * scale)


def _lc_grads(layer, x, naive=False):
    """Output and gradients of a LocallyConnected2d, or of the naive loop with its parameters."""
    layer.zero_grad()
    x = x.detach().clone().requires_grad_(True)
    if naive:
        out = naive_local(x, lambda i, j: layer.weight[i, j], layer.bias, layer.output_size,
                          layer.stride, layer.padding, layer.dilation)  # fmt: skip
    else:
        out = layer(x)
    out.backward(
        torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).view_as(out)
    )
    return [out.detach(), x.grad, layer.weight.grad.clone(), layer.bias.grad.clone()]


@pytest.mark.parametrize(
    "case", ["lc", "lc-stride2-pad", "lc-channels_last", "lrlc-blocks", "lrlc-stride2-pad"]
)
def test_bf16_row_products_match_float64(case):
    # bf16 on a CPU takes its own route through the row products (`_copy_patches`), and a
    # locally connected layer, its inference form and a blocked filter build each have theirs:
    # a kernel row out of place, or the wrong filters for it, is off by the size of the
    # output, not by bf16's rounding (each case fails with the patches of a row's kernel rows
    # swapped in `forward_rows`). References: the naive loop, and Algorithm 1 in float64.
    torch.manual_seed(0)
    stride, padding = (2, 1) if "stride2" in case else (1, 0)
    fmt = torch.channels_last if "channels_last" in case else torch.contiguous_format
    x = torch.randn(4, 6, 9, 9).contiguous(memory_format=fmt)
    if case.startswith("lc"):
        layer = randomize_(
            LocallyConnected2d(6, 5, 3, input_size=9, stride=stride, padding=padding)
        )
        ref = _lc_grads(layer.double(), x.double(), naive=True)
        layer.float()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            inferred = layer(x)  # the inference form (no autograd)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = _lc_grads(layer, x)
        pairs = list(zip([inferred, *got], [ref[0], *ref]))
    else:
        # combining="full" at K = H_out * W_out: filters built a block of rows at a time
        kwargs = dict(stride=stride, padding=padding, combining="full")
        h_out = (9 + 2 * padding - 3) // stride + 1
        layer = randomize_(
            LowRankLocallyConnected2d(6, 5, 3, input_size=9, rank=h_out**2, **kwargs)
        )
        assert rows_per_block(h_out**2, h_out, h_out) > 1
        out64, dx64, named64 = grads(layer.double(), x.double(), "basis")
        layer.float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, dx, named = grads(layer, x, "kernel")
        pairs = [(out, out64), (dx, dx64)] + [(named[n], named64[n]) for n in named64]
    assert pairs[0][0].dtype == torch.bfloat16
    for got, want in pairs:
        scale = want.abs().max().item()
        torch.testing.assert_close(got.double(), want, rtol=0, atol=2e-2 * scale)


def test_bf16_basis_gradients_are_as_accurate_as_algorithm_1s():
    # dF^k sums a share from every output row; summed in bf16 its error was 1.8x Algorithm 1's
    # (whose convolution sums in float32 and rounds once). Now accumulated in float32.
    torch.manual_seed(0)
    x, g = torch.randn(16, 32, 20, 20), torch.randn(16, 32, 18, 18)
    bases = torch.randn(4, 32, 32, 3, 3) * 0.05
    weights = torch.softmax(torch.randn(4, 18, 18), 0)

    def d_bases(path, dtype, autocast):
        b = bases.to(dtype).clone().requires_grad_()  # .to() of the same dtype is no copy
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            y = low_rank_locally_connected2d(x.to(dtype), b, weights.to(dtype), path=path)
        y.backward(g.to(y.dtype))
        return b.grad.double()

    ref = d_bases("basis", torch.float64, False)
    err = {p: ((d_bases(p, torch.float32, True) - ref).norm() / ref.norm()).item()
           for p in ("basis", "kernel")}  # fmt: skip
    assert err["kernel"] < 1.25 * err["basis"], err

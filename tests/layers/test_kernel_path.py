"""The rank-independent path (per-position filters of Eq. 2, built row by row, and one locally
connected product with its own backward) against the naive float64 loop, and its gradients
against Algorithm 1's, for every fixed combining mode, normalisation and geometry."""

import itertools

import pytest
import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.functional import (
    lrlc_by_kernels,
)
from lrlc.functional._basis_rows import rows_per_block

from ._reference import naive_local, naive_lrlc
from .conftest import randomize_
from .test_lrlc_exact import GEOMETRIES, NORMS, build

FIXED = ["factorized", "full", "row", "column"]


def grads(layer, x, path):
    layer.path = path
    layer.zero_grad()
    x = x.detach().clone().requires_grad_(True)
    out = layer(x)
    out.backward(
        torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).view_as(out)
    )
    named = {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}
    return out.detach(), x.grad, named


@pytest.mark.parametrize("mode,norm", list(itertools.product(FIXED, NORMS)))
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
def test_kernel_path_matches_the_naive_loop_and_algorithm_1(mode, norm, geometry):
    layer = build(mode, norm, geometry, path="kernel")
    x = torch.randn(3, 2, *geometry[0], dtype=torch.float64)
    torch.testing.assert_close(layer(x), naive_lrlc(layer, x), rtol=1e-10, atol=1e-10)
    out_k, dx_k, dp_k = grads(layer, x, "kernel")
    out_b, dx_b, dp_b = grads(layer, x, "basis")
    torch.testing.assert_close(out_k, out_b, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(dx_k, dx_b, rtol=1e-10, atol=1e-10)
    assert dp_k.keys() == dp_b.keys() and len(dp_k) >= 3
    for name in dp_b:
        torch.testing.assert_close(dp_k[name], dp_b[name], rtol=1e-9, atol=1e-10, msg=name)


# Beside GEOMETRIES: dL/dx by the transposed product (stride 1 along W) with rows dilated or
# strided, where an input row is complete only after several output rows.
ROW_GEOMETRIES = [((9, 8), 3, 1, "same", (2, 1)), ((11, 8), 3, (2, 1), (2, 1), (2, 1))]


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last], ids=str)
@pytest.mark.parametrize(
    "geometry", GEOMETRIES + ROW_GEOMETRIES, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}"
)
def test_kernel_path_input_gradient_in_each_layout(geometry, fmt):
    # dL/dx leaves the backward an input row at a time, written into the input's layout with
    # the padding cropped: each layout, stride, padding and dilation against Algorithm 1.
    layer = build("factorized", "softmax", geometry)
    x = torch.randn(3, 2, *geometry[0], dtype=torch.float64)
    out_b, dx_b, dp_b = grads(layer, x, "basis")
    out_k, dx_k, dp_k = grads(layer, x.contiguous(memory_format=fmt), "kernel")
    assert dx_k.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(out_k, out_b, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(dx_k, dx_b, rtol=1e-10, atol=1e-10)
    for name in dp_b:
        torch.testing.assert_close(dp_k[name], dp_b[name], rtol=1e-9, atol=1e-10, msg=name)


def test_training_reads_an_unpadded_channels_last_input_in_place():
    from lrlc.functional._rows import training_input

    x = torch.randn(2, 3, 5, 4)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    view = training_input(x_cl, (0, 0, 0, 0))
    assert view.data_ptr() == x_cl.data_ptr() and view.shape == (5, 2, 4, 3)
    for inp, pad in ((x, (0, 0, 0, 0)), (x_cl, (1, 0, 0, 1))):  # NCHW, or padded: a copy
        xp = training_input(inp, pad)
        assert xp.is_contiguous() and xp.data_ptr() != inp.data_ptr()
        torch.testing.assert_close(xp[pad[2] : pad[2] + 5, :, pad[0] : pad[0] + 4], view)


@pytest.mark.parametrize("kernel_size,dilation", [([3, 5, 3], 1), (3, [1, 2, 1]), ([3, 1], [2, 1])])
def test_kernel_path_of_mixed_bases(kernel_size, dilation):
    layer = LowRankLocallyConnected2d(
        2, 3, kernel_size, input_size=(9, 8), stride=(2, 1), padding="same", dilation=dilation,
        path="kernel",
    ).double()  # fmt: skip
    randomize_(layer)
    x = torch.randn(2, 2, 9, 8, dtype=torch.float64)
    torch.testing.assert_close(layer(x), naive_lrlc(layer, x), rtol=1e-10, atol=1e-10)
    out_k, dx_k, dp_k = grads(layer, x, "kernel")
    out_b, dx_b, dp_b = grads(layer, x, "basis")
    torch.testing.assert_close(dx_k, dx_b, rtol=1e-10, atol=1e-10)
    for name in dp_b:
        torch.testing.assert_close(dp_k[name], dp_b[name], rtol=1e-9, atol=1e-10, msg=name)


def test_kernel_path_gradients_are_numerical_ones():
    x = torch.randn(2, 2, 6, 7, dtype=torch.float64, requires_grad=True)
    bases = torch.randn(3, 2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    for stride, pad in (((1, 1), (0, 0, 0, 0)), ((2, 1), (1, 1, 1, 0)), ((1, 2), (0, 1, 2, 0))):
        h = (6 + pad[2] + pad[3] - 3) // stride[0] + 1
        w = (7 + pad[0] + pad[1] - 3) // stride[1] + 1
        wts = torch.rand(3, h, w, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda a, b, c, s=stride, p=pad: lrlc_by_kernels(a, b, c, p, s, (1, 1)),
            (x, bases, wts),
        )


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
@pytest.mark.parametrize("positions", [1.0, 0.7], ids=["K=HW", "K=0.7HW"])
def test_large_ranks_build_blocks_of_rows_with_the_same_result(geometry, positions):
    # K = H_out * W_out with full combining is any locally connected layer; at such ranks the
    # filters are built (and their gradients sent back) a block of rows at a time. Every
    # geometry, and a rank whose blocks do not divide the rows, against the naive loop and
    # Algorithm 1.
    probe = build("full", "softmax", geometry)
    h_out, w_out = probe.output_size
    rank = max(2 * w_out, round(positions * h_out * w_out))
    assert rows_per_block(rank, w_out, h_out) > 1
    layer = build("full", "softmax", geometry, rank=rank, path="kernel")
    x = torch.randn(2, 2, *geometry[0], dtype=torch.float64)
    torch.testing.assert_close(layer(x), naive_lrlc(layer, x), rtol=1e-10, atol=1e-10)
    out_k, dx_k, dp_k = grads(layer, x, "kernel")
    out_b, dx_b, dp_b = grads(layer, x, "basis")
    torch.testing.assert_close(dx_k, dx_b, rtol=1e-10, atol=1e-10)
    assert dp_k.keys() == dp_b.keys()
    for name in dp_b:
        torch.testing.assert_close(dp_k[name], dp_b[name], rtol=1e-9, atol=1e-10, msg=name)


def test_rows_per_block_keeps_the_block_within_the_bases():
    assert rows_per_block(4, 22, 22) == 1 and rows_per_block(32, 22, 22) == 1
    assert rows_per_block(484, 22, 22) == 22 and rows_per_block(100, 22, 22) == 4
    assert rows_per_block(1000, 22, 22) == 22  # never more rows than there are
    for k in (1, 5, 44, 100, 484):
        assert rows_per_block(k, 22, 22) * 22 <= max(k, 22)


@pytest.mark.parametrize("bias_shape", [(2, 4, 5), (2, 1, 1), (4, 5)], ids=str)
def test_a_bias_in_the_first_product_is_adding_it_after(bias_shape):
    # Both row engines take the bias into each row's first product; values and gradients must
    # be those of adding it after (for a full map and for maps that broadcast).
    from lrlc.functional import locally_connected_by_rows

    x = torch.randn(2, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    bases = torch.randn(3, 2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    wts = torch.rand(3, 4, 5, dtype=torch.float64, requires_grad=True)
    lc_w = torch.randn(4, 5, 2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(bias_shape, dtype=torch.float64, requires_grad=True)
    geo = ((0, 0, 0, 0), (1, 1), (1, 1))
    for fused, plain in (
        (lambda b: lrlc_by_kernels(x, bases, wts, *geo, bias=b),
         lambda b: lrlc_by_kernels(x, bases, wts, *geo) + b),
        (lambda b: locally_connected_by_rows(x, lc_w, *geo, bias=b),
         lambda b: locally_connected_by_rows(x, lc_w, *geo) + b),
    ):  # fmt: skip
        out, ref = fused(bias), plain(bias)
        torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
        g = torch.randn_like(out)
        leaves = [t for t in (x, bases, wts, lc_w, bias) if t.grad_fn is None]
        got = torch.autograd.grad(out, leaves, g, allow_unused=True)
        want = torch.autograd.grad(ref, leaves, g, allow_unused=True)
        for a, b in zip(got, want):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda b: lrlc_by_kernels(x, bases, wts, *geo, bias=b), (bias,))


# Strided columns, undilated: dL/dx by products accumulated into d(xp) (positions whose
# columns overlap in separate products; `_rows_backward._scatter_by_products`, and in one
# call `_backward_program._strided_in_one_call`), which GEOMETRIES' strided case (dilated)
# does not take.
STRIDED_COLUMNS = [((9, 11), 3, (2, 2), 1, 1), ((8, 13), (3, 5), (1, 3), 2, 1)]


@pytest.mark.parametrize("geometry", STRIDED_COLUMNS, ids=lambda g: f"{g[0]}-k{g[1]}-s{g[2]}")
def test_strided_columns_match_the_naive_loop(geometry):
    size, k, s, p, d = geometry
    lc = randomize_(LocallyConnected2d(2, 3, k, input_size=size, stride=s, padding=p)).double()
    lrlc = build("factorized", "softmax", geometry).double()
    for layer in (lc, lrlc):
        x = torch.randn(3, 2, *size, dtype=torch.float64, requires_grad=True)
        out = layer(x)
        if layer is lc:
            ref = naive_local(
                x, lambda i, j: lc.weight[i, j], lc.bias, lc.weight.shape[:2], lc.stride,
                lc.padding, lc.dilation,
            )  # fmt: skip
        else:
            ref = naive_lrlc(layer, x)
        torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
        g = torch.randn_like(out)
        params = [x, *(q for q in layer.parameters() if q.requires_grad)]
        got = torch.autograd.grad(out, params, g, allow_unused=True)
        want = torch.autograd.grad(ref, params, g, allow_unused=True)
        for a, b in zip(got, want, strict=True):
            if b is not None:
                torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
def test_locally_connected_training_path_matches_the_naive_loop(geometry):
    size, k, s, p, d = geometry
    lc = randomize_(LocallyConnected2d(2, 3, k, input_size=size, stride=s, padding=p, dilation=d))
    lc = lc.double()
    x = torch.randn(3, 2, *size, dtype=torch.float64, requires_grad=True)
    out = lc(x)  # parameters require grad: the row-by-row product with its own backward
    ref = naive_local(
        x, lambda i, j: lc.weight[i, j], lc.bias, lc.weight.shape[:2], lc.stride, lc.padding,
        lc.dilation,
    )  # fmt: skip
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    g = torch.randn_like(out)
    got = torch.autograd.grad(out, (x, lc.weight, lc.bias), g)
    want = torch.autograd.grad(ref, (x, lc.weight, lc.bias), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_locally_connected_weight_is_stored_by_rows_and_any_layout_works():
    torch.manual_seed(0)
    lc = LocallyConnected2d(3, 4, (3, 2), input_size=(6, 5), padding=1).double()
    # Stored (H_out, W_out, kh, kw, C_in, C_out), seen (H_out, W_out, C_out, C_in, kh, kw);
    # .double() (any Module.to) keeps the layout.
    assert lc.weight.shape == (6, 6, 4, 3, 3, 2)
    assert lc.weight.permute(0, 1, 4, 5, 3, 2).is_contiguous()
    torch.manual_seed(0)
    bound = (6 / (3 * 3 * 2)) ** 0.5  # He-uniform on fan_in = C_in * kh * kw
    drawn = torch.empty(6, 6, 4, 3, 3, 2).uniform_(-bound, bound)
    torch.testing.assert_close(lc.weight, drawn.double(), rtol=0, atol=0)  # a seed, any layout
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    lc(x).backward(g)
    assert lc.weight.grad.stride() == lc.weight.stride()  # accumulated without a re-layout
    # A weight in the documented (contiguous) order, as `load_state_dict(assign=True)` or a
    # user's assignment leaves it, gives the same outputs and gradients.
    other = LocallyConnected2d(3, 4, (3, 2), input_size=(6, 5), padding=1).double()
    other.load_state_dict({k: v.contiguous() for k, v in lc.state_dict().items()}, assign=True)
    assert other.weight.is_contiguous()
    x2 = x.detach().clone().requires_grad_(True)
    other(x2).backward(g)
    torch.testing.assert_close(other.weight.grad, lc.weight.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x2.grad, x.grad, rtol=1e-12, atol=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(other(x), lc(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last], ids=str)
@pytest.mark.parametrize("padding", [0, 1])
def test_output_and_input_gradient_keep_the_inputs_memory_format(fmt, padding):
    # As nn.Conv2d's do: layers before and after then read and write one layout.
    lrlc = LowRankLocallyConnected2d(3, 4, 3, input_size=6, rank=2, padding=padding, path="kernel")
    lc = LocallyConnected2d(3, 4, 3, input_size=6, padding=padding)
    for layer in (lrlc, lc):
        x = torch.randn(2, 3, 6, 6).contiguous(memory_format=fmt).requires_grad_()
        out = layer(x)
        out.backward(torch.ones_like(out))
        assert out.is_contiguous(memory_format=fmt) and x.grad.is_contiguous(memory_format=fmt)

"""The whole forward in one compiled call (`lrlc.functional._native.rows_forward`): the same
output as the row loop with torch's products, for filters built from bases (the kernel path)
and stored ones (`LocallyConnected2d`), every geometry the row products take, any thread
count; and where it cannot run it says so and writes nothing."""

import pytest
import torch

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.functional import _native, use_native
from lrlc.functional._basis_rows import BasisKernels
from lrlc.functional._kernel_path import _CachedRows, _geometry, weight_by_rows
from lrlc.functional._native.whole import _balanced
from lrlc.functional._rows import forward_rows, pad_nhwc

from .test_native import ISAS, needs_kernel

CL = torch.channels_last
# (input size, kernel, stride, padding (left, right, top, bottom), dilation)
GEOMETRIES = [
    ((9, 10), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    ((11, 11), (3, 3), (2, 2), (0, 0, 0, 0), (1, 1)),
    ((11, 9), (3, 2), (2, 1), (1, 0, 2, 2), (2, 1)),  # rows strided and dilated, kw 2
    ((6, 23), (1, 3), (1, 1), (0, 0, 0, 0), (1, 1)),  # 21 columns: shares 11 + 10, 7 + 7 + 7
]


def _case(geometry, source, bias, c_in=8, c_out=16, rank=3):
    size, kernel, stride, pad, dilation = geometry
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, c_in, *size, generator=gen).to(memory_format=CL)
    h_out = (size[0] + pad[2] + pad[3] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    w_out = (size[1] + pad[0] + pad[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    xp = pad_nhwc(x, pad, torch.float32)
    geo = _geometry(xp, kernel, stride, dilation, (h_out, w_out))
    if source == "basis":
        bases = torch.randn(rank, c_out, c_in, *kernel, generator=gen)
        weights = torch.softmax(torch.randn(rank, h_out, w_out, generator=gen), 0)
        kernels = BasisKernels(bases, weights)
    else:
        weight = torch.randn(h_out, w_out, c_out, c_in, *kernel, generator=gen)
        kernels = _CachedRows(weight_by_rows(weight).contiguous())
    b = torch.randn(c_out, h_out, w_out, generator=gen) if bias else None
    return xp, kernels, geo, b


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("source", ["basis", "rows"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_the_whole_forward_is_the_row_loop(isa, threads, source, geometry):
    xp, kernels, geo, bias = _case(geometry, source, bias=geometry[1] != (1, 3))
    with use_native(False):
        ref = forward_rows(xp, kernels, geo, CL, bias=bias)
    before_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with use_native(True, isa):
            before = _native.calls
            got = forward_rows(xp, kernels, geo, CL, bias=bias)
            if _balanced(geo.out[1], threads):
                assert _native.calls == before + 1  # one call for the whole forward
            else:  # a thread would idle: the row loop, a product per kernel row and row
                assert _native.calls > before + geo.out[0]
    finally:
        torch.set_num_threads(before_threads)
    assert got.is_contiguous(memory_format=CL)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-4)


@needs_kernel
def test_a_wrong_whole_forward_would_be_caught():
    """The comparison above can fail: a bias moved by one position shows."""
    xp, kernels, geo, bias = _case(GEOMETRIES[0], "basis", bias=True)
    with use_native(False):
        ref = forward_rows(xp, kernels, geo, CL, bias=bias)
    with use_native(True):
        got = forward_rows(xp, kernels, geo, CL, bias=bias.roll(1, dims=2))
    assert not torch.allclose(got, ref, rtol=1e-4, atol=1e-4)


@needs_kernel
def test_what_the_whole_forward_cannot_take_is_left_to_the_row_loop():
    xp, kernels, geo, bias = _case(GEOMETRIES[0], "rows", bias=True)
    source = kernels.whole_source()
    bias_rows = bias.permute(1, 2, 0).contiguous()
    args = (xp, (3, 3), geo.stride, geo.dilation, geo.out)
    with use_native(True):
        assert _native.rows_forward(*args, source, bias_rows) is not None  # it can run here
        before = _native.calls
        assert _native.rows_forward(xp.double(), *args[1:], source, None) is None  # float64
        assert _native.rows_forward(*args, source, bias_rows[:, :, :8]) is None  # bias shape
        if _native.column_multiple() == 16:  # C_out of 8: not whole AVX-512 vectors
            assert _native.rows_forward(*args, ("rows", source[1][..., :8]), None) is None
        threads = torch.get_num_threads()
        torch.set_num_threads(16)  # 10 columns among 16 threads: most would idle
        try:
            assert _native.rows_forward(*args, source, bias_rows) is None
        finally:
            torch.set_num_threads(threads)
        assert _native.calls == before  # none of them reached the kernel
    with use_native(False):
        assert _native.rows_forward(*args, source, bias_rows) is None


@needs_kernel
@pytest.mark.parametrize("fmt", [CL, torch.contiguous_format], ids=str)
@pytest.mark.parametrize("kind", ["lrlc", "lc"])
def test_layers_take_the_whole_forward(kind, fmt, monkeypatch):
    torch.manual_seed(0)
    if kind == "lrlc":
        layer = LowRankLocallyConnected2d(8, 16, 3, input_size=(9, 10), rank=3, padding=1)
        layer.path = "kernel"
    else:
        layer = LocallyConnected2d(8, 16, 3, input_size=(9, 10), padding=1)
    layer = layer.to(memory_format=fmt)
    x = torch.randn(3, 8, 9, 10).to(memory_format=fmt)
    ran = []
    real = _native.rows_forward

    def spy(*args):
        out = real(*args)
        ran.append(out is not None)
        return out

    with use_native(False):
        ref = layer(x)
    monkeypatch.setattr("lrlc.functional._rows.rows_forward", spy)
    with use_native(True):
        got = layer(x)  # training forward
        with torch.no_grad():
            inferred = layer(x)  # inference
    assert ran == [True, True]
    assert got.is_contiguous(memory_format=fmt) and inferred.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(inferred, ref, rtol=1e-5, atol=1e-4)

"""The kernel path's backward as one compiled call (`_native.program`, `lc_program.c`'s
`lrlc_rows_program_f32`): the same input gradient and parameter gradients as the row loop with
torch's products, for the geometries it takes (stride 1, undilated, padding on any side,
kernels of one row or column, positions that do not share out evenly, ranks that pad dw's
operand), any thread count; `LocallyConnected2d`'s too (its filter gradients written into
its weight's, its placed filters copied from its weight); and the row loop where it cannot
run."""

import pytest
import torch

from lrlc.functional import _native, use_native
from lrlc.functional._native.program import Program
from lrlc.layers import LocallyConnected2d, LowRankLocallyConnected2d

from .test_native import ISAS, needs_kernel

CL = torch.channels_last
# (input size, kernel, padding, rank, channels)
CASES = [
    ((9, 10), 3, 0, 4, 16),
    ((8, 11), 3, 1, 5, 16),  # padding on every side: input rows of the padding skipped
    ((7, 9), (1, 3), (0, 1), 3, 16),  # one kernel row: no step along a
    ((9, 6), (3, 2), (1, 0), 6, 16),  # kw 2, 5 columns shared out among 2 or 3 threads
    ((6, 12), 3, 0, 1, 32),  # K = 1: one row of bases in each panel
    ((9, 10), 3, 0, 12, 16),  # K above DOTS_MAX_RANK: dw as a product, not dot products
    ((3, 10), 3, 0, 4, 16),  # one output row: no step along i
    ((7, 9), (3, 1), 0, 3, 16),  # kw 1: no margins in dL/dy's row
    ((6, 4), 3, 0, 2, 16),  # two output columns, as many as dL/dy's margins
]


def _grads(layer, x, g):
    layer.zero_grad()
    x = x.detach().clone().requires_grad_()
    layer(x).backward(g)
    return x.grad, {n: p.grad.clone() for n, p in layer.named_parameters()}


def _case(size, kernel, padding, rank, channels, fmt=CL, grad_fmt=None):
    """grad_fmt: dL/dy's layout (default the layer's), which each row's copy reads."""
    torch.manual_seed(0)
    layer = LowRankLocallyConnected2d(
        channels, channels, kernel, input_size=size, rank=rank, padding=padding, path="kernel"
    ).to(memory_format=fmt)
    x = torch.randn(3, channels, *size).to(memory_format=fmt)
    g = torch.randn_like(layer(x)).contiguous(memory_format=grad_fmt or fmt)
    return layer, x, g


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "case,fmt,grad_fmt",
    [(c, CL, CL) for c in CASES]
    + [(c, torch.contiguous_format, None) for c in CASES[:2]]
    + [(c, CL, torch.contiguous_format) for c in CASES[:2]],
    ids=str,
)
def test_the_backward_in_one_call_is_the_row_loop(isa, threads, case, fmt, grad_fmt):
    # NCHW: the input and dL/dx NCHW (dL/dx written channels_last, copied once); also a
    # channels_last layer given an NCHW dL/dy
    layer, x, g = _case(*case, fmt=fmt, grad_fmt=grad_fmt)
    dx = _same_as_the_row_loop(layer, x, g, isa, threads)
    assert dx.is_contiguous(memory_format=fmt)


def _same_as_the_row_loop(layer, x, g, isa, threads):
    """Check that the backward with the compiled kernel (`isa`, `threads`) is one call and
    gives the row loop's gradients (torch's products); returns dL/dx."""
    with use_native(False):
        dx_ref, ref = _grads(layer, x, g)
    before_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with use_native(True, isa):
            layer.zero_grad()
            xg = x.detach().clone().requires_grad_()
            y = layer(xg)
            before = _native.calls
            y.backward(g)
            backward_calls = _native.calls - before
            dx, got = xg.grad, {n: p.grad for n, p in layer.named_parameters()}
    finally:
        torch.set_num_threads(before_threads)
    assert backward_calls == 1  # the whole backward: one compiled call
    torch.testing.assert_close(dx, dx_ref, rtol=1e-4, atol=1e-4)
    assert got.keys() == ref.keys()
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], rtol=1e-4, atol=2e-4, msg=name)
    return dx


# (input size, kernel, padding, in and out channels) of a LocallyConnected2d
LC_CASES = [
    ((9, 10), 3, 0, (16, 32)),
    ((8, 11), 3, 1, (16, 16)),  # padding on every side
    ((7, 9), (1, 3), (0, 1), (32, 16)),  # one kernel row: no step along a
    ((9, 6), (3, 2), (1, 0), (16, 16)),  # kw 2, 5 columns shared out among 2 or 3 threads
    ((3, 10), 3, 0, (16, 16)),  # one output row: no step along i
]


@needs_kernel
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("fmt", [CL, torch.contiguous_format], ids=str)
@pytest.mark.parametrize("case", LC_CASES, ids=str)
def test_a_locally_connected_layers_backward_in_one_call_is_the_row_loop(isa, threads, fmt, case):
    size, kernel, padding, (c_in, c_out) = case
    torch.manual_seed(0)
    layer = LocallyConnected2d(c_in, c_out, kernel, input_size=size, padding=padding)
    layer = layer.to(memory_format=fmt)
    x = torch.randn(3, c_in, *size).to(memory_format=fmt)
    g = torch.randn_like(layer(x))
    _same_as_the_row_loop(layer, x, g, isa, threads)


@needs_kernel
def test_a_wrong_step_would_be_caught():
    """The comparison above can fail: dL/dy's rows read one output row late give another
    input gradient."""
    import lrlc.functional._native.program as program

    layer, x, g = _case(*CASES[0])
    with use_native(False):
        dx_ref, _ = _grads(layer, x, g)
    real = Program.copy_rows

    def late(self, src_at, src_next, dst):
        real(self, src_next, src_next, dst)

    program.Program.copy_rows = late
    try:
        with use_native(True):
            dx, _ = _grads(layer, x, g)
    finally:
        program.Program.copy_rows = real
    assert not torch.allclose(dx, dx_ref, rtol=1e-3, atol=1e-3)


@needs_kernel
@pytest.mark.parametrize(
    "what", ["dilation", "float64", "channels"], ids=["dilation 2", "float64", "C=4"]
)
def test_what_it_cannot_take_is_left_to_the_row_loop(what):
    size, kernel, padding, rank, channels = CASES[0]
    dilation, fmt, dtype = 1, CL, torch.float32
    if what == "dilation":
        dilation = 2
    elif what == "float64":
        dtype = torch.float64
    else:
        channels = 4  # C = 4, kw * C = 12 columns: not whole AVX2 or AVX-512 vectors
    torch.manual_seed(0)
    layer = LowRankLocallyConnected2d(
        channels, channels, kernel, input_size=size, rank=rank, dilation=dilation, path="kernel"
    ).to(dtype=dtype, memory_format=fmt)
    x = torch.randn(3, channels, *size, dtype=dtype).to(memory_format=fmt)
    g = torch.randn_like(layer(x))
    ran = []
    real = Program.run

    def spy(self):
        ok = real(self)
        ran.append(ok)
        return ok

    Program.run = spy
    try:
        with use_native(True):
            dx, _ = _grads(layer, x, g)
        with use_native(False):
            dx_ref, _ = _grads(layer, x, g)
    finally:
        Program.run = real
    assert True not in ran  # never ran: the row loop did the backward
    tol = 1e-10 if dtype is torch.float64 else 1e-4
    torch.testing.assert_close(dx, dx_ref, rtol=tol, atol=tol)


def test_a_program_with_a_step_it_cannot_take_does_not_run():
    prog = Program(2, 3)
    a = torch.randn(1, 4, 5, dtype=torch.float64)  # float64: not the kernel's
    prog.product((1, 4, 5, 16), (a, torch.randn(1, 5, 16), torch.empty(1, 4, 16)), None, None)
    assert not prog.ok and not prog.run()


@needs_kernel
def test_a_first_layer_without_an_input_gradient_takes_it_too():
    """An input that needs no gradient (a network's first layer): the parameters' gradients
    in one call, no dL/dx, no placed filters."""
    layer, x, g = _case(*CASES[1])
    with use_native(False):
        layer.zero_grad()
        layer(x).backward(g)
        ref = {n: p.grad.clone() for n, p in layer.named_parameters()}
    with use_native(True):
        layer.zero_grad()
        y = layer(x)  # x does not require grad
        before = _native.calls
        y.backward(g)
        assert _native.calls == before + 1
        got = {n: p.grad for n, p in layer.named_parameters()}
    for name in ref:
        torch.testing.assert_close(got[name], ref[name], rtol=1e-4, atol=2e-4, msg=name)

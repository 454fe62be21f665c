"""The plain-op engines of the locally connected product (one batched product over all
positions, or one per kernel tap) against the naive float64 loop, and the layers routed
through them on the devices named in `_engines.DEVICE_ENGINES` (GPUs: the CPU stands in for
one here), with outputs and every gradient equal to the CPU row engines'."""

import pytest
import torch

import lrlc.functional as LFN
from lrlc import LocallyConnected2d
from lrlc.functional import _engines
from lrlc.functional._ops import locally_connected_by_patches, locally_connected_by_taps

from ._reference import naive_local, naive_lrlc
from .conftest import randomize_
from .test_kernel_path import FIXED, grads
from .test_lrlc_exact import GEOMETRIES, build

ENGINES = {"patches": locally_connected_by_patches, "taps": locally_connected_by_taps}
# (input, kernel, stride, padding (left, right, top, bottom), dilation)
PLAIN_GEOMETRIES = [
    ((7, 7), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1)),
    ((11, 10), (3, 2), (2, 1), (1, 2, 0, 1), (1, 2)),
    ((9, 8), (1, 3), (1, 2), (2, 2, 1, 1), (2, 1)),
]


def out_size(size, kernel, stride, pad, dilation):
    return tuple(
        (n + lo + hi - (k - 1) * d - 1) // s + 1
        for n, k, s, d, (lo, hi) in zip(size, kernel, stride, dilation, [pad[2:], pad[:2]])
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("geometry", PLAIN_GEOMETRIES, ids=str)
def test_engine_matches_the_naive_loop(engine, geometry):
    size, kernel, stride, pad, dilation = geometry
    h, w = out_size(size, kernel, stride, pad, dilation)
    x = torch.randn(3, 4, *size, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(h, w, 5, 4, *kernel, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(5, h, w, dtype=torch.float64, requires_grad=True)
    got = ENGINES[engine](x, weight, bias, stride, pad, dilation)
    want = naive_local(x, lambda i, j: weight[i, j], bias, (h, w), stride, pad, dilation)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    probe = torch.randn_like(want)
    got_grads = torch.autograd.grad(got, (x, weight, bias), probe)
    want_grads = torch.autograd.grad(want, (x, weight, bias), probe)
    for name, g, r in zip("x weight bias".split(), got_grads, want_grads):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10, msg=name)


@pytest.fixture
def engine_calls(monkeypatch, request):
    """The CPU routed through a plain engine (`request.param`), as a GPU is; counts its calls."""
    calls = []
    real = ENGINES[request.param]

    def counted(*args):
        calls.append(args[1].shape)
        return real(*args)

    monkeypatch.setitem(_engines.DEVICE_ENGINES, "cpu", counted)
    return calls


@pytest.mark.parametrize("engine_calls", list(ENGINES), indirect=True)
@pytest.mark.parametrize("mode", FIXED)
@pytest.mark.parametrize("geometry", GEOMETRIES[1:3], ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}")
def test_lrlc_kernel_path_on_a_plain_engine(engine_calls, mode, geometry):
    layer = build(mode, "softmax", geometry, path="kernel")
    x = torch.randn(3, 2, *geometry[0], dtype=torch.float64)
    out_k, dx_k, dp_k = grads(layer, x, "kernel")
    assert len(engine_calls) == 1  # the kernel path went through the engine
    torch.testing.assert_close(out_k, naive_lrlc(layer, x), rtol=1e-10, atol=1e-10)
    out_b, dx_b, dp_b = grads(layer, x, "basis")
    assert len(engine_calls) == 1  # Algorithm 1 did not
    torch.testing.assert_close(out_k, out_b, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(dx_k, dx_b, rtol=1e-10, atol=1e-10)
    assert dp_k.keys() == dp_b.keys() and len(dp_k) >= 3
    for name in dp_b:
        torch.testing.assert_close(dp_k[name], dp_b[name], rtol=1e-9, atol=1e-10, msg=name)
    # The functional form takes the same route.
    with torch.no_grad():
        got = LFN.low_rank_locally_connected2d(
            x, layer.basis_filters(), layer.combining_weights(), layer.spatial_bias_map(),
            layer.stride, layer.padding, layer.dilation, path="kernel",
        )  # fmt: skip
    assert len(engine_calls) == 2
    torch.testing.assert_close(got, out_b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("engine_calls", list(ENGINES), indirect=True)
@pytest.mark.parametrize("grad", [True, False], ids=["train", "infer"])
def test_locally_connected_on_a_plain_engine(engine_calls, grad):
    lc = randomize_(
        LocallyConnected2d(3, 4, (3, 2), input_size=(9, 8), stride=(2, 1), padding="same")
    ).double()
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, requires_grad=grad)
    want = naive_local(
        x, lambda i, j: lc.weight[i, j], lc.bias, lc.output_size, lc.stride, lc.padding,
        lc.dilation,
    )  # fmt: skip
    with torch.set_grad_enabled(grad):
        got = lc(x)
        functional = LFN.locally_connected2d(x, lc.weight, lc.bias, lc.stride, lc.padding)
    assert len(engine_calls) == 2
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(functional, want, rtol=1e-12, atol=1e-12)
    if grad:
        probe = torch.randn_like(want)
        params = (x, lc.weight, lc.bias)
        for g, r in zip(
            torch.autograd.grad(got, params, probe), torch.autograd.grad(want, params, probe)
        ):
            torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)


def test_cpus_keep_the_row_engines_and_gpus_take_patches_or_taps(monkeypatch):
    assert _engines.plain_engine("cpu") is None
    assert _engines.plain_engine("cuda") is _engines.locally_connected_by_patches_or_taps
    calls = []
    for name in ENGINES:
        monkeypatch.setitem(_engines.__dict__, f"locally_connected_by_{name}",
                            lambda *a, name=name: calls.append(name))  # fmt: skip
    x, weight = torch.randn(2, 3, 6, 6), torch.randn(4, 4, 5, 3, 3, 3)
    patch_bytes = 2 * 3 * 9 * 16 * 4
    for limit, engine in [(patch_bytes, "patches"), (patch_bytes - 1, "taps")]:
        monkeypatch.setattr(_engines, "PATCH_BYTES_LIMIT", limit)
        _engines.locally_connected_by_patches_or_taps(x, weight, None, (1, 1), (0,) * 4, (1, 1))
        assert calls.pop() == engine


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", ["factorized", "full"])
def test_on_cuda_the_kernel_path_equals_the_cpu_rows(mode):
    layer = build(mode, "softmax", GEOMETRIES[2], path="kernel")
    x = torch.randn(3, 2, *GEOMETRIES[2][0], dtype=torch.float64)
    out_cpu, dx_cpu, dp_cpu = grads(layer, x, "kernel")
    layer.cuda()
    out, dx, dp = grads(layer, x.cuda(), "kernel")
    torch.testing.assert_close(out.cpu(), out_cpu, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(dx.cpu(), dx_cpu, rtol=1e-10, atol=1e-10)
    for name in dp_cpu:
        torch.testing.assert_close(dp[name].cpu(), dp_cpu[name], rtol=1e-9, atol=1e-10)
    lc = layer.to_locally_connected()
    with torch.no_grad():
        torch.testing.assert_close(lc(x.cuda()).cpu(), out_cpu, rtol=1e-10, atol=1e-10)

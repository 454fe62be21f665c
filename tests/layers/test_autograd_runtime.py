"""Gradients, torch.compile, bf16 autocast and channels_last for every layer."""

import pytest
import torch

from lrlc import CoordConv2d, LocallyConnected2d, LowRankLocallyConnected2d

from .conftest import randomize_

MODES = ["factorized", "full", "row", "column", "input_dependent"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("norm", ["softmax", "norm"])
def test_gradcheck(mode, norm):
    layer = LowRankLocallyConnected2d(
        2,
        2,
        3,
        input_size=(6, 5),
        rank=2,
        stride=(1, 2),
        padding="same",
        combining=mode,
        normalize=norm,
    ).double()
    randomize_(layer)
    x = torch.randn(2, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    params = tuple(layer.parameters())

    def fn(x, *ps):
        return torch.func.functional_call(
            layer, dict(zip(dict(layer.named_parameters()), ps)), (x,)
        )

    # fast_mode: one random projection of the Jacobian against its numerical estimate, which
    # a wrong gradient misses as surely as the full Jacobian does, at a tenth of the time.
    assert torch.autograd.gradcheck(fn, (x, *params), eps=1e-6, atol=1e-6, fast_mode=True)


def test_gradcheck_locally_connected_and_mixed_basis():
    lc = LocallyConnected2d(2, 2, 3, input_size=5, padding=1).double()
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lc, (x,), fast_mode=True)
    mixed = LowRankLocallyConnected2d(2, 2, [3, 1], input_size=5, padding="same").double()
    assert torch.autograd.gradcheck(mixed, (x,), fast_mode=True)


@pytest.mark.parametrize("mode", MODES)
def test_every_parameter_receives_a_gradient(mode):
    layer = LowRankLocallyConnected2d(
        3, 4, [3, 5], input_size=(12, 10), padding="same", combining=mode
    )
    layer(torch.randn(2, 3, 12, 10)).square().mean().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def _close(a, b, tol):
    err = (a.float() - b.float()).abs().max() / b.float().abs().max()
    assert err < tol, f"relative error {err:.3g}"


@pytest.mark.parametrize("mode", ["factorized", "input_dependent"])
def test_bf16_autocast_is_close_to_float32(mode):
    layer = LowRankLocallyConnected2d(8, 8, 3, input_size=12, rank=4, combining=mode, init="random")
    x = torch.randn(4, 8, 12, 12)
    ref = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
        w = layer.combining_weights(x)
    assert w.dtype == torch.float32
    _close(out, ref, 3e-2)


def test_locally_connected_inference_path_under_bf16_autocast():
    layer = LocallyConnected2d(8, 6, 3, input_size=10, padding=1)
    x = torch.randn(3, 8, 10, 10)
    ref = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        train_path = layer(x)
        with torch.no_grad():
            fast = layer(x)
    assert fast.dtype == train_path.dtype == torch.bfloat16  # as nn.Conv2d under autocast
    _close(fast, train_path, 1e-2)
    _close(fast, ref, 3e-2)
    torch.testing.assert_close(layer(x), ref)  # the bf16 taps must not leak out of autocast
    # Inside a network the input already comes in bf16 from the layer before.
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.no_grad():
        _close(layer(x.bfloat16()), ref, 3e-2)


@pytest.mark.parametrize("mode", ["factorized", "input_dependent"])
def test_channels_last_input_gives_the_same_output(mode):
    layer = LowRankLocallyConnected2d(4, 6, 3, input_size=(9, 8), rank=3, combining=mode, padding=1)
    x = torch.randn(2, 4, 9, 8)
    ref = layer(x)
    out = layer.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    lc = LocallyConnected2d(4, 6, 3, input_size=(9, 8))
    torch.testing.assert_close(lc(x.to(memory_format=torch.channels_last)), lc(x))
    cc = CoordConv2d(4, 6, 3)
    torch.testing.assert_close(cc(x.to(memory_format=torch.channels_last)), cc(x))


class _ThreeLayers(torch.nn.Module):
    """The three layer families side by side, so that one compilation (one forward and one
    backward graph, each compiled once: the cost of this test) covers all of them."""

    def __init__(self):
        super().__init__()
        self.fixed = LowRankLocallyConnected2d(3, 4, 3, input_size=10, rank=2, init="random")
        self.input_dependent = LowRankLocallyConnected2d(
            3, 4, 3, input_size=10, rank=2, combining="input_dependent"
        )
        self.lc = LocallyConnected2d(3, 4, 3, input_size=10)

    def forward(self, x):
        return torch.stack([self.fixed(x), self.input_dependent(x), self.lc(x)])


def test_layers_run_under_torch_compile():
    # aot_eager: dynamo's capture and AOTAutograd's forward and backward graphs, where layer
    # code breaks (data-dependent Python, custom Functions, in-place ops); inductor's code
    # generation (a minute of C++ compilation here) is what `lrlc bench training`'s compile
    # modes and the trainer's --compile exercise.
    torch._dynamo.reset()
    model = _ThreeLayers()
    x = torch.randn(2, 3, 10, 10, requires_grad=True)
    out = torch.compile(model, backend="aot_eager")(x)
    torch.testing.assert_close(out, model(x), atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())

"""NonStationaryConv2d: omega_1 = 0 is a convolution, omega_1 > 0 varies the filter over
positions, the forward pass is the locally connected product of kernel(), "full" is a dense
linear map, gradients reach omega_1, and a fresh layer has He-like output scale."""

import math

import pytest
import torch
import torch.nn.functional as F

from lrlc import NonStationaryConv2d
from lrlc.layers.kernel_nets import RandomFourierNet, SirenNet
from lrlc.layers.nonstationary import coordinate_grid

NETS = ["siren", "rff"]


def layer64(*args, **kw) -> NonStationaryConv2d:
    """A float64 layer with a random channel bias, so the bias path is exercised too."""
    layer = NonStationaryConv2d(*args, **kw).double()
    if layer.bias is not None:
        with torch.no_grad():
            layer.bias.normal_()
    return layer


def naive_forward(x, kernel, bias, stride, padding):
    """y[n, :, i, j] = kernel[i, j] . padded_patch(i, j) + bias, one position at a time."""
    h_out, w_out, c_out, _, kh, kw = kernel.shape
    xp = F.pad(x, padding)
    y = x.new_zeros(x.shape[0], c_out, h_out, w_out)
    for i in range(h_out):
        for j in range(w_out):
            r, c = i * stride[0], j * stride[1]
            patch = xp[:, :, r : r + kh, c : c + kw]
            y[:, :, i, j] = torch.einsum("ncab,ocab->no", patch, kernel[i, j])
    return y if bias is None else y + bias.view(1, -1, 1, 1)


def compact_blob(top: int, left: int, size=(12, 14), channels=2) -> torch.Tensor:
    """Zero input with a random 4 x 5 patch at (top, left)."""
    # Its own generator: the same blob on every call, without reseeding the global RNG.
    gen = torch.Generator().manual_seed(1)
    blob = torch.randn(1, channels, 4, 5, dtype=torch.float64, generator=gen)
    x = torch.zeros(1, channels, *size, dtype=torch.float64)
    x[..., top : top + 4, left : left + 5] = blob
    return x


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("learn", [True, False])
def test_zero_omega_1_shares_one_kernel_and_equals_conv2d(net, learn):
    kw = dict(stride=(2, 1), padding=1, kernel_net=net, omega_1=0.0, learn_omega_1=learn)
    layer = layer64(3, 4, (3, 2), (7, 9), **kw)
    kernel = layer.kernel().detach()
    assert kernel.shape == (4, 10, 4, 3, 3, 2)
    shared = kernel[0, 0].expand_as(kernel)
    torch.testing.assert_close(kernel, shared, atol=1e-12, rtol=0)
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    expected = F.conv2d(x, kernel[0, 0], layer.bias, stride=(2, 1), padding=1)
    torch.testing.assert_close(layer(x), expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("net", NETS)
def test_zero_omega_1_commutes_with_translation(net):
    layer = layer64(2, 3, 3, (12, 14), padding=1, kernel_net=net, omega_1=0.0)
    x, shifted = compact_blob(4, 3), compact_blob(6, 6)  # shifted by (2, 3)
    y, ys = layer(x), layer(shifted)
    torch.testing.assert_close(ys[..., 2:, 3:], y[..., :-2, :-3], atol=1e-12, rtol=0)
    # The same check fails once the filter depends on position, so it can detect a leak.
    with torch.no_grad():
        layer.omega_1.fill_(5.0)
    y, ys = layer(x), layer(shifted)
    assert (ys[..., 2:, 3:] - y[..., :-2, :-3]).abs().max() > 1e-3 * y.abs().max()


@pytest.mark.parametrize("net", NETS)
def test_positive_omega_1_varies_kernels_more_as_it_grows(net):
    layer = layer64(2, 3, 3, (10, 10), kernel_net=net, omega_1=1.0)
    changes = []
    for omega_1 in (0.0, 1.0, 10.0, 100.0):
        with torch.no_grad():
            layer.omega_1.fill_(omega_1)
            kernel = layer.kernel()
        neighbours = (kernel[:, 1:] - kernel[:, :-1]).norm() / kernel.norm()
        changes.append(neighbours.item())
    assert changes[0] < 1e-12
    assert all(a < b for a, b in zip(changes, changes[1:])), changes
    with torch.no_grad():
        layer.omega_1.fill_(1.0)
        kernel = layer.kernel()
    assert (kernel[0, 0] - kernel[-1, -1]).abs().max() > 1e-3 * kernel.abs().max()


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize(
    "kernel_size,input_size,stride,padding",
    [((3, 2), (7, 10), 2, 1), (3, (6, 5), 1, "same"), (1, (4, 6), (1, 2), 0)],
)
def test_forward_equals_naive_loop_over_positions(net, kernel_size, input_size, stride, padding):
    layer = layer64(
        3, 2, kernel_size, input_size, stride=stride, padding=padding, kernel_net=net, omega_1=2.0
    )
    x = torch.randn(2, 3, *input_size, dtype=torch.float64)
    with torch.no_grad():
        kernel = layer.kernel()
        expected = naive_forward(x, kernel, layer.bias, layer.stride, layer.padding)
        y = layer(x)
    assert y.shape[-2:] == layer.output_size == kernel.shape[:2]
    torch.testing.assert_close(y, expected, atol=1e-12, rtol=0)


def test_fixed_zero_omega_1_shortcut_equals_locally_connected_path():
    learned = layer64(3, 4, 3, (6, 7), padding="same", omega_1=0.0)
    fixed = layer64(3, 4, 3, (6, 7), padding="same", omega_1=0.0, learn_omega_1=False)
    fixed.load_state_dict(learned.state_dict())
    assert fixed.is_stationary() and not learned.is_stationary()
    x = torch.randn(2, 3, 6, 7, dtype=torch.float64)
    torch.testing.assert_close(fixed(x), learned(x), atol=1e-12, rtol=0)


@pytest.mark.parametrize("net", NETS)
def test_full_kernel_is_a_dense_linear_map(net):
    (h, w), c_in, c_out = (3, 4), 2, 3
    layer = layer64(c_in, c_out, "full", (h, w), kernel_net=net, omega_1=1.5)
    assert layer.kernel_size == (2 * h - 1, 2 * w - 1) and layer.output_size == (h, w)
    with torch.no_grad():
        kernel = layer.kernel()
    dense = torch.zeros(c_out, h, w, c_in, h, w, dtype=torch.float64)
    for i in range(h):
        for j in range(w):
            for a in range(h):
                for b in range(w):
                    # Input pixel (a, b) sits at tap (a - i + h - 1, b - j + w - 1) of the
                    # kernel centred on output (i, j).
                    dense[:, i, j, :, a, b] = kernel[i, j, :, :, a - i + h - 1, b - j + w - 1]
    dense = dense.reshape(c_out * h * w, c_in * h * w)
    x = torch.randn(5, c_in, h, w, dtype=torch.float64)
    expected = x.flatten(1) @ dense.T + layer.bias.repeat_interleave(h * w)
    torch.testing.assert_close(layer(x).flatten(1), expected, atol=1e-12, rtol=0)


def test_full_kernel_constant_over_offsets_is_translation_invariant():
    layer = layer64(2, 3, "full", (12, 14), omega_0=0.0, omega_1=0.0, learn_omega_1=False)
    y, ys = layer(compact_blob(4, 3)), layer(compact_blob(6, 6))
    torch.testing.assert_close(ys, y, atol=1e-12, rtol=0)
    torch.testing.assert_close(y, y[..., :1, :1].expand_as(y), atol=1e-12, rtol=0)


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("omega_1", [0.0, 1.0])
def test_gradients_reach_omega_1_and_every_parameter(net, omega_1):
    layer = layer64(2, 3, 3, (6, 5), padding=1, kernel_net=net, omega_1=omega_1)
    params = dict(layer.named_parameters())
    assert "omega_1" in params and layer.omega_1.dim() == 0
    assert layer.omega_1.dtype == torch.float64
    layer(torch.randn(2, 2, 6, 5, dtype=torch.float64)).square().sum().backward()
    for name, p in params.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_fixed_omega_1_is_a_buffer_without_grad():
    layer = NonStationaryConv2d(2, 3, 3, (6, 5), omega_1=0.5, learn_omega_1=False)
    assert "omega_1" not in dict(layer.named_parameters())
    assert "omega_1" in dict(layer.named_buffers()) and "omega_1" in layer.state_dict()
    assert not layer.omega_1.requires_grad and float(layer.omega_1) == 0.5
    x = torch.randn(1, 2, 6, 5)
    layer(x).sum().backward()
    assert layer.omega_1.grad is None
    # A fixed non-zero omega_1 is still position dependent: no convolution shortcut.
    assert not layer.is_stationary()
    with torch.no_grad():
        expected = naive_forward(x, layer.kernel(), layer.bias, layer.stride, layer.padding)
        torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=1e-5)


def test_kernel_net_is_evaluated_once_on_all_points():
    layer = NonStationaryConv2d(2, 3, (3, 2), (7, 6), stride=2, padding=1)
    rows = []
    layer.net.register_forward_hook(lambda m, args, out: rows.append(args[0].shape))
    layer(torch.randn(2, 2, 7, 6))
    h_out, w_out = layer.output_size
    assert rows == [torch.Size([h_out * w_out * 3 * 2, 4])]


@pytest.mark.parametrize("net", NETS)
def test_kernel_entry_is_net_at_scaled_offset_and_position(net):
    layer = layer64(2, 3, (3, 4), (6, 9), stride=(1, 2), kernel_net=net, omega_0=7.0, omega_1=2.5)
    kernel = layer.kernel().detach()
    (h_out, w_out), (kh, kw) = layer.output_size, layer.kernel_size
    rows, cols, d_rows, d_cols = (
        torch.linspace(-1, 1, n, dtype=torch.float64) for n in (h_out, w_out, kh, kw)
    )
    for i, j, a, b in [(0, 0, 0, 0), (3, 1, 2, 3), (1, 2, 1, 0), (2, 0, 0, 2)]:
        z = torch.stack([7.0 * d_rows[a], 7.0 * d_cols[b], 2.5 * rows[i], 2.5 * cols[j]])[None]
        expected = layer.net(z).detach().view(3, 2)  # (C_out, C_in)
        torch.testing.assert_close(kernel[i, j, :, :, a, b], expected, atol=1e-12, rtol=0)


def test_coordinates_span_minus_one_to_one():
    grid = coordinate_grid((1, 3))
    assert grid.shape == (1, 3, 2)
    torch.testing.assert_close(grid[..., 0], torch.zeros(1, 3))
    torch.testing.assert_close(grid[0, :, 1], torch.tensor([-1.0, 0.0, 1.0]))


def test_kernel_net_initialisation():
    siren = SirenNet(4, 6, hidden=32)
    first, second = siren.hidden_layers
    assert first.weight.abs().max() <= 1 / 4 and first.weight.abs().max() > 0.2
    assert second.weight.abs().max() <= math.sqrt(6 / 32)
    assert second.weight.abs().max() > 0.9 * math.sqrt(6 / 32)
    rff = RandomFourierNet(4, 6, hidden=32)
    assert rff.projection.shape == (16, 4) and not rff.projection.requires_grad
    assert "projection" in rff.state_dict()
    assert 0.5 / (2 * math.pi) < rff.projection.std() < 1.5 / (2 * math.pi)


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("omega_1", [0.0, 1.0])
@pytest.mark.parametrize("kernel_size", [3, 5])
def test_fresh_layer_output_scale_matches_he_conv(net, omega_1, kernel_size):
    channels, size = 8, 8
    layer = NonStationaryConv2d(
        channels, channels, kernel_size, size, padding="same", kernel_net=net, omega_1=omega_1
    )
    conv = torch.nn.Conv2d(channels, channels, kernel_size, padding="same", bias=False)
    torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    x = torch.randn(4, channels, size, size)
    with torch.no_grad():
        ratio = (layer(x).std() / conv(x).std()).item()
    # The expected squared filter value is exactly He's 2 / fan_in; allow sampling noise.
    assert 1 / 1.5 < ratio < 1.5, ratio


@pytest.mark.parametrize(
    "kw,pattern",
    [
        (dict(kernel_net="mlp"), r"kernel_net must be one of \('siren', 'rff'\), got 'mlp'"),
        (dict(hidden=0), r"hidden must be an integer >= 1, got 0"),
        (dict(hidden=2.5), r"hidden must be an integer >= 1, got 2.5"),
        (dict(omega_0=-1.0), r"omega_0 must be a finite number >= 0, got -1.0"),
        (dict(omega_1=float("nan")), r"omega_1 must be a finite number >= 0, got nan"),
        (dict(kernel_size="fulll"), r"kernel_size must be an int, a pair or 'full', got 'fulll'"),
        (dict(kernel_size="full", stride=2), r"got stride=2, padding=0"),
        (dict(kernel_size="full", padding="same"), r"got stride=1, padding='same'"),
        (dict(kernel_size=0), r"kernel_size must be positive, got 0"),
        (dict(kernel_size=9), r"too small for kernel \(9, 9\)"),
        (dict(in_channels=0), r"in_channels must be a positive integer, got 0"),
        (dict(padding="full"), r"padding must be an int, a pair, 'same' or 'valid', got 'full'"),
    ],
)
def test_bad_construction_arguments(kw, pattern):
    args = dict(in_channels=3, out_channels=4, kernel_size=3, input_size=(8, 6))
    args.update(kw)
    with pytest.raises(ValueError, match=pattern):
        NonStationaryConv2d(**args)


@pytest.mark.parametrize(
    "shape,pattern",
    [
        ((1, 3, 8, 7), r"input size \(8, 6\), got \(8, 7\)"),
        ((1, 5, 8, 6), r"built for 3 input channels, got 5"),
        ((3, 8, 6), r"4-D input .* got a 3-D"),
    ],
)
def test_bad_input_raises(shape, pattern):
    layer = NonStationaryConv2d(3, 4, 3, (8, 6))
    with pytest.raises(ValueError, match=pattern):
        layer(torch.randn(*shape))


def test_extra_repr_names_the_settings():
    text = repr(NonStationaryConv2d(3, 4, "full", (5, 6), kernel_net="rff", omega_1=0.25))
    for part in (
        "3, 4",
        "kernel_size='full'",
        "input_size=(5, 6)",
        "kernel_net='rff'",
        "hidden=32",
        "omega_0=10",
        "omega_1=0.25",
        "learn_omega_1=True",
    ):
        assert part in text, text

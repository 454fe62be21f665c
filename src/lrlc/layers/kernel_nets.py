"""Kernel networks for continuous filters: coordinates (P, D) -> kernel values (P, F).

Used by `NonStationaryConv2d` (van der Ouderaa, Romero, van der Wilk, "Relaxing Equivariance
Constraints with Non-stationary Continuous Filters", NeurIPS 2022). Two parameterisations:

* `SirenNet`: sin activations (Sitzmann et al., "Implicit Neural Representations with Periodic
  Activation Functions", NeurIPS 2020).
* `RandomFourierNet`: a fixed random Fourier feature map (Tancik et al., "Fourier Features Let
  Networks Learn High Frequency Functions in Low Dimensional Domains", NeurIPS 2020) followed
  by a small ReLU MLP.

Neither net scales its input: the caller multiplies each coordinate by its frequency (omega_0,
omega_1), so the frequencies stay visible and learnable outside the net. Both expose
`features(z)`, the activations before the last linear layer, so that the caller can scale that
layer to a target output variance (see `scale_last_layer_`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..functional._checks import int_at_least

KERNEL_NETS = ("siren", "rff")


def _check_sizes(in_features: int, out_features: int, hidden: int, num_layers: int) -> None:
    for name, value, low in (
        ("in_features", in_features, 1),
        ("out_features", out_features, 1),
        ("hidden", hidden, 1),
        ("num_layers", num_layers, 2),
    ):
        int_at_least(value, name, low)


class SirenNet(nn.Module):
    """SIREN: (P, in_features) -> (P, out_features).

    ``num_layers - 1`` linear layers with sin activations, then a linear output layer.

    Initialisation (Sitzmann et al., Sec. 3.2): the first layer's weights are
    uniform(-1/fan_in, 1/fan_in), the later ones uniform(-sqrt(6/fan_in), sqrt(6/fan_in)), so
    every sin sees pre-activations of about unit variance. Their omega_0 multiplies the first
    layer's input; here the caller has already done so. The sin layers' biases are random phases,
    uniform(-pi, pi): SIREN gets the same effect by multiplying its default biases by omega_0,
    and without it the net is nearly odd in z, so the centre tap (z = 0) would start near zero.
    The output layer's bias starts at zero.
    """

    def __init__(
        self, in_features: int, out_features: int, hidden: int = 32, num_layers: int = 3
    ) -> None:
        super().__init__()
        _check_sizes(in_features, out_features, hidden, num_layers)
        widths = [in_features] + [hidden] * (num_layers - 1)
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.last = nn.Linear(hidden, out_features)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for i, layer in enumerate(self.hidden_layers):
            fan_in = layer.in_features
            bound = 1.0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in)
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.uniform_(layer.bias, -math.pi, math.pi)
        bound = math.sqrt(6.0 / self.last.in_features)
        nn.init.uniform_(self.last.weight, -bound, bound)
        nn.init.zeros_(self.last.bias)

    def features(self, z: Tensor) -> Tensor:
        """Activations before the output layer: (P, in_features) -> (P, hidden)."""
        for layer in self.hidden_layers:
            z = torch.sin(layer(z))
        return z

    def forward(self, z: Tensor) -> Tensor:
        return self.last(self.features(z))


class RandomFourierNet(nn.Module):
    """Random Fourier features, then a ReLU MLP: (P, in_features) -> (P, out_features).

    The feature map is [cos(2 pi B z), sin(2 pi B z)] with a fixed projection B of shape
    (hidden // 2, in_features), B ~ N(0, 1 / (2 pi)^2). That standard deviation makes 2 pi B
    standard normal, so the frequency scale is set by the caller's omega_0 and omega_1 alone,
    as for `SirenNet`. B is a buffer: saved with the state, never trained. ``num_layers`` counts
    the feature map: 2 is features -> linear, 3 (default) adds one hidden ReLU layer of
    ``hidden`` units. Hidden layers are He-uniform with zero bias.
    """

    def __init__(
        self, in_features: int, out_features: int, hidden: int = 32, num_layers: int = 3
    ) -> None:
        super().__init__()
        _check_sizes(in_features, out_features, hidden, num_layers)
        n_freq = max(1, hidden // 2)
        self.register_buffer("projection", torch.empty(n_freq, in_features))
        widths = [2 * n_freq] + [hidden] * (num_layers - 2)
        self.hidden_layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.last = nn.Linear(widths[-1], out_features)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.projection, 0.0, 1.0 / (2.0 * math.pi))
        for layer in [*self.hidden_layers, self.last]:
            bound = math.sqrt(6.0 / layer.in_features)
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.zeros_(layer.bias)

    def features(self, z: Tensor) -> Tensor:
        """Activations before the output layer: (P, in_features) -> (P, width)."""
        phase = 2.0 * math.pi * (z @ self.projection.T)
        z = torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)
        for layer in self.hidden_layers:
            z = torch.relu(layer(z))
        return z

    def forward(self, z: Tensor) -> Tensor:
        return self.last(self.features(z))


def make_kernel_net(
    name: str, in_features: int, out_features: int, hidden: int, num_layers: int = 3
) -> SirenNet | RandomFourierNet:
    """The kernel net called `name` ("siren" or "rff")."""
    if name == "siren":
        return SirenNet(in_features, out_features, hidden, num_layers)
    if name == "rff":
        return RandomFourierNet(in_features, out_features, hidden, num_layers)
    raise ValueError(f"kernel_net must be one of {KERNEL_NETS}, got {name!r}")


@torch.no_grad()
def scale_last_layer_(net: SirenNet | RandomFourierNet, z: Tensor, variance: float) -> None:
    """Redraw the output layer so that E[out^2], averaged over the points `z` (P, D), equals
    `variance`, and zero its bias.

    With weights uniform(-b, b), E[out_f^2] = b^2 / 3 * sum_h mean_p features[p, h]^2 for every
    output f, so b follows exactly from the features on the points the kernel is evaluated at,
    whatever the net's architecture and however the frequencies spread its features.
    """
    second_moment = net.features(z).double().pow(2).mean(0).sum().item()
    bound = math.sqrt(3.0 * variance / max(second_moment, 1e-12))
    nn.init.uniform_(net.last.weight, -bound, bound)
    nn.init.zeros_(net.last.bias)

"""CoordConv and the stand-alone spatial bias."""

import pytest
import torch
import torch.nn.functional as F

from lrlc import CoordConv2d, SpatialBias
from lrlc.layers.coord import coordinate_channels


def test_coordinates_span_minus_one_to_one_on_each_axis_of_a_non_square_input():
    c = coordinate_channels(torch.zeros(2, 1, 4, 7, dtype=torch.float64))
    assert c.shape == (2, 2, 4, 7)
    for i in range(4):
        for j in range(7):
            assert c[0, 0, i, j] == pytest.approx(-1 + 2 * i / 3)
            assert c[1, 1, i, j] == pytest.approx(-1 + 2 * j / 6)


def test_coordconv_is_conv_over_input_and_coordinates():
    layer = CoordConv2d(3, 5, 3, padding=1).double()
    x = torch.randn(2, 3, 6, 9, dtype=torch.float64)
    rows = torch.linspace(-1, 1, 6, dtype=torch.float64).view(1, 1, 6, 1).expand(2, 1, 6, 9)
    cols = torch.linspace(-1, 1, 9, dtype=torch.float64).view(1, 1, 1, 9).expand(2, 1, 6, 9)
    expected = F.conv2d(
        torch.cat([x, rows, cols], 1), layer.conv.weight, layer.conv.bias, padding=1
    )
    torch.testing.assert_close(layer(x), expected)
    assert layer.conv.in_channels == 5


def test_coordconv_checks_channels():
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\), got \(1, 4, 5, 5\)"):
        CoordConv2d(3, 5, 3)(torch.randn(1, 4, 5, 5))


def test_spatial_bias_adds_row_plus_column_to_every_channel():
    sb = SpatialBias((3, 4)).double()
    with torch.no_grad():
        sb.bias_row.copy_(torch.tensor([1.0, 2.0, 3.0]))
        sb.bias_col.copy_(torch.tensor([10.0, 20.0, 30.0, 40.0]))
    x = torch.zeros(2, 5, 3, 4, dtype=torch.float64)
    y = sb(x)
    for i in range(3):
        for j in range(4):
            assert torch.all(y[:, :, i, j] == (i + 1) + 10 * (j + 1))
    with pytest.raises(ValueError, match=r"built for size \(3, 4\), got \(4, 4\)"):
        sb(torch.zeros(1, 1, 4, 4))

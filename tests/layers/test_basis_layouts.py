"""The bases' re-layouts of the kernel path (`_basis_layouts`), element for element against
the index formulas they stand for, through the compiled transposes and through torch's
copies, for channel counts that are and are not whole panels."""

import pytest
import torch

from lrlc.functional import use_native
from lrlc.functional._basis_layouts import (
    bases_from_panels,
    dw_operand,
    forward_panels,
    tap_panels,
    taps_inner,
)
from lrlc.functional._native import pack_panels

SHAPES = [
    (3, 16, 32, 3, 3),
    (2, 8, 20, 2, 3),
    (1, 5, 7, 1, 1),
    (1, 2, 16, 3, 3),
]  # (K, C_out, C_in, kh, kw)


def _bases(shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))


def _channels_last(f):
    """Bases stored as a channels_last layer stores them: (K * C_out, C_in, kh, kw) weights."""
    k, c_out, c_in, kh, kw = f.shape
    w = f.reshape(k * c_out, c_in, kh, kw).contiguous(memory_format=torch.channels_last)
    return w.view(f.shape)


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize("stored", ["contiguous", "channels_last"])
@pytest.mark.parametrize("shape", SHAPES)
def test_taps_inner(native, stored, shape):
    f = _bases(shape)
    if stored == "channels_last":
        f = _channels_last(f)
    with use_native(native):
        t = taps_inner(f)
    assert t.is_contiguous()
    if shape[3] * shape[4] > 1:  # (one tap: both orders are one)
        assert (t.data_ptr() == f.data_ptr()) == (stored == "channels_last")  # a view
    assert torch.equal(t, f.permute(0, 1, 3, 4, 2))  # t[k, o, a, b, c] = F[k, o, c, a, b]


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_dw_operand(native, shape):
    k, c_out, c_in, kh, kw = shape
    f = _bases(shape)
    padded = k + 5
    with use_native(native):
        dense = dw_operand(f, padded, torch.float32)
    assert dense.shape == (kh, c_out * kw * c_in, padded)
    want = f.permute(3, 1, 4, 2, 0).reshape(kh, -1, k)  # row (o, b, c) of kernel row a
    assert torch.equal(dense[..., :k], want)
    assert (dense[..., k:] == 0).all()


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize("stored", ["contiguous", "channels_last"])
@pytest.mark.parametrize("width", [16, 8])
@pytest.mark.parametrize("shape", SHAPES)
def test_bases_from_panels(native, stored, width, shape):
    """dF's panels, (kh, tiles, K, width) of the filter-gradient order (K, kh, C_out, kw,
    C_in), back to the bases' (K, C_out, C_in, kh, kw): whole-tile channels (C_in = 32, 8
    and 16 at width 8) by the transposes, the rest (C_in = 20, 7) by a permuted copy."""
    k, c_out, c_in, kh, kw = shape
    d = _bases(shape)  # the gradient as the bases hold it
    by_row = d.permute(3, 0, 1, 4, 2).reshape(kh, k, -1)  # (kh, K, X), X = (o, b, c)
    panels = pack_panels(by_row, width)
    like = _bases(shape) if stored == "contiguous" else _channels_last(_bases(shape))
    with use_native(native):
        out = bases_from_panels(panels, like)
    assert torch.equal(out, d)
    if c_in % width == 0:  # the gradient in the bases' memory order
        assert out.stride() == like.stride()
    else:
        assert out.is_contiguous()


def _flat(f):
    """The forward's (K, kh, kw * C_in * C_out) and the backward's (K, kh, kw, C_out * C_in)."""
    k, c_out, c_in, kh, kw = f.shape
    return f.permute(0, 3, 4, 2, 1).reshape(k, kh, -1), f.permute(0, 3, 4, 1, 2).reshape(
        k, kh, kw, -1
    )


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize("stored", ["contiguous", "channels_last"])
@pytest.mark.parametrize("shape", [(3, 16, 32, 3, 3), (5, 16, 16, 3, 3), (2, 8, 16, 2, 3)])
def test_panels_straight_from_the_bases(native, stored, shape):
    """The builds' and the placed filters' panels equal `pack_panels` of the flat layouts
    they replace, dense (the kernel reads them by their shape); None where the channels are
    not whole panels (C_out = 8 for the forward; C_in = 16 at width 32 for the taps)."""
    f = _bases(shape)
    if stored == "channels_last":
        f = _channels_last(f)
    flat, flat_t = _flat(f)
    with use_native(native):
        fwd, taps = forward_panels(f, 16), tap_panels(f, 16)
        assert tap_panels(f, 32) is None or shape[2] % 32 == 0
    if shape[1] == 16:
        assert fwd.is_contiguous() and torch.equal(fwd, pack_panels(flat.transpose(0, 1), 16))
    else:
        assert fwd is None
    assert taps.is_contiguous()
    assert torch.equal(taps, pack_panels(flat_t.permute(1, 2, 0, 3), 16))

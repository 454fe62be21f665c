"""lrlc.functional (each formula of the paper against a direct float64 loop) and the
low-level helpers (shape arithmetic, padding, the combine step) against hand values and
nn.Conv2d."""

import ast
import itertools
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import lrlc.functional as LFN
from lrlc import LowRankLocallyConnected2d
from lrlc.functional import _rows
from lrlc.layers import functional as LF

from ._reference import naive_local, naive_softmax
from .conftest import randomize_


@pytest.mark.parametrize(
    "size,kernel,stride,dilation,expected",
    [
        # (left, right, top, bottom); TF "same": total = (ceil(n/s)-1)*s + ext - n, extra at end
        ((9, 7), (3, 3), (2, 2), (2, 2), (2, 2, 2, 2)),
        ((8, 8), (3, 3), (2, 2), (1, 1), (0, 1, 0, 1)),
        ((5, 6), (4, 2), (1, 1), (1, 1), (0, 1, 1, 2)),
        ((4, 4), (1, 1), (2, 2), (1, 1), (0, 0, 0, 0)),
    ],
)
def test_same_padding_hand_values(size, kernel, stride, dilation, expected):
    assert LF.resolve_padding("same", size, kernel, stride, dilation) == expected


@pytest.mark.parametrize("kernel,dilation", [((3, 3), (1, 1)), ((4, 2), (1, 3)), ((2, 5), (2, 1))])
def test_same_padding_equals_torch_at_stride_one(kernel, dilation):
    x = torch.randn(1, 2, 7, 9, dtype=torch.float64)
    conv = nn.Conv2d(2, 3, kernel, padding="same", dilation=dilation, bias=False).double()
    pad = LF.resolve_padding("same", (7, 9), kernel, (1, 1), dilation)
    ours = LF.conv2d_padded(x, conv.weight, (1, 1), pad, dilation)
    torch.testing.assert_close(ours, conv(x))


@pytest.mark.parametrize("padding", [0, 2, (1, 3), "valid"])
@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), ((2, 3), (1, 2))])
def test_output_size_equals_conv2d(padding, stride, dilation):
    conv = nn.Conv2d(1, 1, (3, 2), stride=stride, padding=padding, dilation=dilation)
    out = conv(torch.zeros(1, 1, 11, 10)).shape[-2:]
    pad = LF.resolve_padding(padding, (11, 10), (3, 2), LF.to_pair(stride), LF.to_pair(dilation))
    size = LF.conv_output_size((11, 10), (3, 2), LF.to_pair(stride), pad, LF.to_pair(dilation))
    assert size == tuple(out)


def test_softmax_is_float32_under_bf16():
    logits = torch.randn(4, 5, 6).to(torch.bfloat16)
    w = LF.normalize_combining(logits, "softmax", dim=0)
    assert w.dtype == torch.float32
    torch.testing.assert_close(w, naive_softmax(logits.float(), 0))


def test_combine_bases_matches_weighted_sum():
    r = torch.randn(2, 3, 4, 5, 6, dtype=torch.float64)
    w = torch.randn(3, 5, 6, dtype=torch.float64)
    expected = (r * w[None, :, None]).sum(1)
    torch.testing.assert_close(LF.combine_bases(r, w), expected)
    torch.testing.assert_close(LF.combine_bases_reference(r, w), expected)
    wn = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(LF.combine_bases(r, wn), (r * wn[:, :, None]).sum(1))


def test_too_small_input_is_an_error():
    with pytest.raises(ValueError, match=r"too small"):
        LF.conv_output_size((2, 2), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1))


@pytest.mark.parametrize("weights_shape", [(3, 5, 6), (2, 3, 5, 6)])
def test_fast_combine_has_the_outputs_and_gradients_of_the_plain_one(weights_shape):
    r = torch.randn(2, 3, 4, 5, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*weights_shape, dtype=torch.float64, requires_grad=True)
    fast, plain = LF.combine_bases(r, w), LF.combine_bases_reference(r, w)
    torch.testing.assert_close(fast, plain)
    g = torch.randn_like(fast)
    grads_fast = torch.autograd.grad(fast, (r, w), g)
    grads_plain = torch.autograd.grad(plain, (r, w), g)
    for a, b in zip(grads_fast, grads_plain):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(LF.combine_bases, (r, w))


# --- lrlc.functional: each formula against a direct float64 loop -------------------------

D = torch.float64


def loop_filters(weights, bases):
    """Eq. 2 by its definition, one position (and example) at a time."""
    k_, h, w = weights.shape[-3:]
    batch = weights.shape[:-3]
    out = torch.zeros(*batch, h, w, *bases.shape[1:], dtype=D)
    for idx in itertools.product(*(range(b) for b in batch)):
        for i in range(h):
            for j in range(w):
                for k in range(k_):
                    out[idx + (i, j)] += weights[idx + (k, i, j)] * bases[k]
    return out


def loop_lrlc(x, bases, weights, bias_map, stride, padding4, dilation):
    """The LRLC layer by its definition: filters summed per position (own loop, not Eq. 2's
    function), applied by naive_local's loop over positions."""
    out_size = weights.shape[-2:]
    k_ = bases.shape[0]

    def filters_at(i, j):
        if weights.dim() == 3:
            return sum(weights[k, i, j] * bases[k] for k in range(k_))
        return sum(weights[:, k, i, j].view(-1, 1, 1, 1, 1) * bases[k] for k in range(k_))

    return naive_local(x, filters_at, bias_map, out_size, stride, padding4, dilation)


@pytest.mark.parametrize("batch", [(), (3,)], ids=["fixed", "per_example"])
def test_per_position_filters_is_eq2_by_loop(batch):
    weights = torch.randn(*batch, 3, 4, 5, dtype=D)
    bases = torch.randn(3, 2, 6, 3, 2, dtype=D)
    got = LFN.per_position_filters(weights, bases)
    assert got.shape == (*batch, 4, 5, 2, 6, 3, 2)
    torch.testing.assert_close(got, loop_filters(weights, bases), atol=1e-12, rtol=0)


def test_per_position_filters_takes_the_dtype_of_the_bases_and_checks_k():
    bases = torch.randn(2, 1, 1, 3, 3, dtype=D)
    assert LFN.per_position_filters(torch.rand(2, 4, 4), bases).dtype == D
    with pytest.raises(ValueError, match="K = 2"):
        LFN.per_position_filters(torch.rand(3, 4, 4, dtype=D), bases)


def test_factorized_logits_and_variants_are_eq3_by_loop():
    alpha, beta = torch.randn(3, 4, dtype=D), torch.randn(3, 5, dtype=D)
    full, rows, cols = (torch.zeros(3, 4, 5, dtype=D) for _ in range(3))
    for k in range(3):
        for i in range(4):
            for j in range(5):
                full[k, i, j] = alpha[k, i] + beta[k, j]
                rows[k, i, j] = alpha[k, i]
                cols[k, i, j] = beta[k, j]
    torch.testing.assert_close(LFN.factorized_logits(alpha, beta), full, atol=0, rtol=0)
    torch.testing.assert_close(LFN.row_logits(alpha, 5), rows, atol=0, rtol=0)
    torch.testing.assert_close(LFN.column_logits(beta, 4), cols, atol=0, rtol=0)
    with pytest.raises(ValueError, match="same K"):
        LFN.factorized_logits(alpha, torch.randn(2, 5, dtype=D))


@pytest.mark.parametrize("dim", [0, 1])
def test_normalize_combining_is_eq4_by_loop(dim):
    logits = torch.randn(3, 4, 5, 2, dtype=D)
    soft, l2 = torch.zeros_like(logits), torch.zeros_like(logits)
    for idx in itertools.product(*(range(s) for i, s in enumerate(logits.shape) if i != dim)):
        sel = idx[:dim] + (slice(None),) + idx[dim:]
        v = logits[sel]
        e = [math.exp(float(t)) for t in v]
        soft[sel] = torch.tensor([t / sum(e) for t in e], dtype=D)
        l2[sel] = v / math.sqrt(sum(float(t) ** 2 for t in v))
    torch.testing.assert_close(LFN.normalize_combining(logits, "softmax", dim), soft)
    torch.testing.assert_close(LFN.normalize_combining(logits, "norm", dim), l2)
    assert LFN.normalize_combining(logits, "none", dim) is logits
    with pytest.raises(ValueError, match="normalize must be one of"):
        LFN.normalize_combining(logits, "sigmoid", dim)


@pytest.mark.parametrize("terms", [(1, 1, 1), (1, 0, 1), (0, 1, 0), (0, 0, 0)])
def test_spatial_bias_is_eq5_by_loop(terms):
    row, col, chan = torch.randn(4, dtype=D), torch.randn(5, dtype=D), torch.randn(3, dtype=D)
    row, col, chan = (t if on else None for t, on in zip((row, col, chan), terms))
    like = torch.empty(0, dtype=D)
    got = LFN.spatial_bias(3, (4, 5), row, col, chan, like=like)
    expected = torch.zeros(3, 4, 5, dtype=D)
    for c in range(3):
        for i in range(4):
            for j in range(5):
                expected[c, i, j] = (
                    (row[i] if row is not None else 0)
                    + (col[j] if col is not None else 0)
                    + (chan[c] if chan is not None else 0)
                )
    assert got.dtype == D
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


# (input size, kernel, stride, padding, dilation, padding as (left, right, top, bottom))
GEOMS = [
    ((7, 6), (3, 3), (1, 1), 0, (1, 1), (0, 0, 0, 0)),
    ((8, 9), (3, 2), (2, 1), (1, 2), (1, 2), (2, 2, 1, 1)),
    ((9, 7), (3, 3), (2, 2), "same", (2, 2), (2, 2, 2, 2)),
]


@pytest.mark.parametrize("geom", GEOMS, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
def test_basis_responses_is_each_basis_convolved_by_loop(geom):
    size, kernel, stride, padding, dilation, pad4 = geom
    x, bases = torch.randn(2, 3, *size, dtype=D), torch.randn(4, 2, 3, *kernel, dtype=D)
    got = LFN.basis_responses(x, bases, stride, padding, dilation)
    out_size = got.shape[-2:]
    for k in range(4):
        expect = naive_local(x, lambda i, j, k=k: bases[k], None, out_size, stride, pad4, dilation)
        torch.testing.assert_close(got[:, k], expect, atol=1e-12, rtol=0)


@pytest.mark.parametrize("per_example", [False, True], ids=["fixed", "per_example"])
@pytest.mark.parametrize("geom", GEOMS, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
def test_low_rank_locally_connected2d_is_algorithm1_by_loop(geom, per_example):
    size, kernel, stride, padding, dilation, pad4 = geom
    x, bases = torch.randn(2, 3, *size, dtype=D), torch.randn(4, 2, 3, *kernel, dtype=D)
    h, w = LF.conv_output_size(size, kernel, stride, pad4, dilation)
    weights = torch.softmax(torch.randn(*((2,) if per_example else ()), 4, h, w, dtype=D), -3)
    bias_map = torch.randn(2, h, w, dtype=D)
    for b in (bias_map, None):
        got = LFN.low_rank_locally_connected2d(x, bases, weights, b, stride, padding, dilation)
        expect = loop_lrlc(x, bases, weights, b, stride, pad4, dilation)
        torch.testing.assert_close(got, expect, atol=1e-12, rtol=0)


def test_low_rank_locally_connected2d_gradients_are_numerical_ones():
    x = torch.randn(2, 2, 5, 4, dtype=D, requires_grad=True)
    bases = torch.randn(3, 2, 2, 3, 3, dtype=D, requires_grad=True)
    for shape in [(3, 5, 2), (2, 3, 5, 2)]:
        weights = torch.randn(*shape, dtype=D, requires_grad=True)
        bias_map = torch.randn(2, 5, 2, dtype=D, requires_grad=True)

        def layer(x, bases, weights, bias_map):
            return LFN.low_rank_locally_connected2d(x, bases, weights, bias_map, padding=(1, 0))

        assert torch.autograd.gradcheck(layer, (x, bases, weights, bias_map), fast_mode=True)


@pytest.mark.parametrize("mode", ["factorized", "row", "full", "input_dependent"])
@pytest.mark.parametrize("geom", GEOMS, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
def test_the_module_is_the_whole_layer_function_of_its_parameters(mode, geom):
    size, kernel, stride, padding, dilation, _ = geom
    layer = LowRankLocallyConnected2d(
        3,
        2,
        kernel,
        size,
        rank=3,
        stride=stride,
        padding=padding,
        dilation=dilation,
        combining=mode,
    ).double()
    randomize_(layer)
    x = torch.randn(2, 3, *size, dtype=D)
    weights = layer.combining_weights(x if layer.input_dependent else None)
    args = (layer.basis_filters(), weights, layer.spatial_bias_map(), stride, padding, dilation)
    # The same operations on the same numbers: equal to the bit.
    assert torch.equal(LFN.low_rank_locally_connected2d(x, *args), layer(x))
    x2 = torch.randn(2, 3, *size, dtype=D)
    assert not torch.equal(LFN.low_rank_locally_connected2d(x2, *args), layer(x))


def test_a_mixed_basis_module_is_the_function_of_its_embedded_filters():
    layer = LowRankLocallyConnected2d(
        2, 3, [3, 5, 3], (9, 8), dilation=[1, 1, 2], stride=2, padding="same"
    ).double()
    randomize_(layer)
    x = torch.randn(2, 2, 9, 8, dtype=D)
    got = LFN.low_rank_locally_connected2d(
        x, layer.basis_filters(), layer.combining_weights(), layer.spatial_bias_map(), 2, "same"
    )
    torch.testing.assert_close(got, layer(x), atol=1e-12, rtol=0)


def test_the_whole_layer_function_refuses_weights_of_another_grid():
    x, bases = torch.randn(2, 3, 6, 6), torch.randn(4, 2, 3, 3, 3)
    for shape in [(4, 6, 6), (3, 4, 4), (3, 4, 4, 4), (4, 4, 4, 4)]:
        with pytest.raises(ValueError, match="weights must be"):
            LFN.low_rank_locally_connected2d(x, bases, torch.rand(shape))
    with pytest.raises(ValueError, match="C_in = 3"):
        LFN.low_rank_locally_connected2d(x[:, :2], bases, torch.rand(4, 4, 4))


@pytest.mark.parametrize("grad", [True, False], ids=["autograd", "inference"])
@pytest.mark.parametrize("geom", GEOMS, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
def test_locally_connected2d_is_the_product_by_loop(geom, grad):
    size, kernel, stride, padding, dilation, pad4 = geom
    x = torch.randn(2, 3, *size, dtype=D)
    h, w = LF.conv_output_size(size, kernel, stride, pad4, dilation)
    weight = torch.randn(h, w, 2, 3, *kernel, dtype=D, requires_grad=grad)
    bias = torch.randn(2, h, w, dtype=D)
    for b in (bias, None):
        got = LFN.locally_connected2d(x, weight, b, stride, padding, dilation)
        assert got.requires_grad == grad
        expect = naive_local(x, lambda i, j: weight[i, j], b, (h, w), stride, pad4, dilation)
        torch.testing.assert_close(got, expect, atol=1e-12, rtol=0)


@pytest.mark.parametrize("geom", GEOMS, ids=lambda g: f"{g[0]}-s{g[2]}-p{g[3]}-d{g[4]}")
def test_inference_reads_a_channels_last_input_as_it_is(geom):
    size, kernel, stride, padding, dilation, pad4 = geom
    x = torch.randn(2, 3, *size, dtype=D).to(memory_format=torch.channels_last)
    h, w = LF.conv_output_size(size, kernel, stride, pad4, dilation)
    weight, bias = torch.randn(h, w, 2, 3, *kernel, dtype=D), torch.randn(2, h, w, dtype=D)
    got = LFN.locally_connected2d(x, weight, bias, stride, padding, dilation)
    expect = naive_local(x, lambda i, j: weight[i, j], bias, (h, w), stride, pad4, dilation)
    torch.testing.assert_close(got, expect, atol=1e-12, rtol=0)
    assert got.is_contiguous(memory_format=torch.channels_last)  # as nn.Conv2d keeps it
    # Unpadded, the row products read x where it is; padded or cast, one copy.
    xp = _rows.pad_nhwc(x, pad4, D)
    assert (xp.data_ptr() == x.data_ptr()) == (not any(pad4))
    assert _rows.pad_nhwc(x, pad4, torch.float32).data_ptr() != x.data_ptr()
    torch.testing.assert_close(xp.permute(1, 3, 0, 2), nn.functional.pad(x, pad4))


def test_locally_connected2d_refuses_a_weight_of_another_grid():
    x, weight = torch.randn(1, 2, 6, 6), torch.randn(4, 4, 3, 2, 3, 3)
    assert LFN.locally_connected2d(x, weight).shape == (1, 3, 4, 4)
    with pytest.raises(ValueError, match=r"gives \(6, 6\) outputs"):
        LFN.locally_connected2d(x, weight, padding=1)


def test_each_formula_names_its_equation():
    # `grep -rn "Eq. N" src/` must find each formula where it is computed.
    named = {
        "Eq. 2": LFN.per_position_filters,
        "Eq. 3": LFN.factorized_logits,
        "Eq. 4": LFN.normalize_combining,
        "Eq. 5": LFN.spatial_bias,
        "Algorithm 1": LFN.low_rank_locally_connected2d,
    }
    for label, fn in named.items():
        assert fn.__doc__.startswith(label), (label, fn.__name__)


def test_lrlc_functional_imports_no_layer_module():
    # The layers import lrlc.functional; an import back would be a cycle.
    root = Path(LFN.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                outside = node.level != 1  # absolute, or relative above lrlc.functional
                assert not (outside and "layers" in module), (path.name, module)
            elif isinstance(node, ast.Import):
                assert not any("lrlc" in a.name for a in node.names), path.name


def test_old_names_still_import_from_lrlc_layers_functional():
    assert LF.normalize_combining is LFN.normalize_combining
    assert LF.combine_bases is LFN.combine_bases
    row, col, chan = torch.randn(4, dtype=D), torch.randn(5, dtype=D), torch.randn(3, dtype=D)
    old = LF.spatial_bias_map(3, (4, 5), row, col, chan, row)
    expected = row.view(1, 4, 1) + col.view(1, 1, 5) + chan.view(3, 1, 1)
    torch.testing.assert_close(old, expected)
    # The old tap-layout inference form computes the product as the current one does.
    x, weight, bias = torch.randn(2, 3, 6, 5, dtype=D), torch.randn(4, 2, 2, 3, 3, 4, dtype=D), None
    taps = LF.tap_major(weight)
    assert taps.shape == (4, 3, 4, 2, 3, 2)
    for bias in (None, torch.randn(2, 4, 2, dtype=D)):
        got = LF.locally_connected_inference(x, taps, bias, (1, 1), (0, 0, 0, 0), (1, 1))
        expect = LFN.locally_connected2d(x, weight, bias)
        torch.testing.assert_close(got, expect, atol=1e-12, rtol=0)

"""Input-dependent combining weights (the paper's section 3.2.2 and supplementary B)."""

import pytest
import torch
import torch.nn.functional as F

from lrlc import LowRankLocallyConnected2d

from .conftest import randomize_


def make(size=(10, 9), rank=3, **kw):
    return LowRankLocallyConnected2d(
        4, 5, 3, input_size=size, rank=rank, combining="input_dependent", **kw
    ).double()


def test_weights_differ_across_examples_and_sum_to_one():
    layer = make()
    x = torch.randn(3, 4, 10, 9, dtype=torch.float64)
    w = layer.combining_weights(x)
    assert w.shape == (3, 3, 8, 7)
    torch.testing.assert_close(w.sum(1), torch.ones(3, 8, 7, dtype=torch.float64))
    assert (w[0] - w[1]).abs().max() > 1e-4
    assert (w >= 0).all()


def test_weights_need_the_input():
    with pytest.raises(ValueError, match="need the layer input"):
        make().combining_weights()


@pytest.mark.parametrize(
    "size,dilations",
    [((28, 28), (1, 2, 4, 8)), ((9, 12), (1, 2, 4)), ((5, 30), (1, 2)), ((3, 3), (1,))],
)
def test_dilation_branches_dropped_when_map_is_small(size, dilations):
    layer = make(size=size, padding="same")
    assert layer.combiner.dilations == dilations
    channels = (len(dilations) + 2) * 3
    assert layer.combiner.squeeze.in_channels == channels
    assert layer.combiner.squeeze.out_channels == channels // 2
    layer(torch.randn(2, 4, *size, dtype=torch.float64))


def test_g_network_matches_a_direct_transcription_of_supplement_b():
    layer = randomize_(make(size=(11, 10), rank=2))
    g = layer.combiner
    x = torch.randn(2, 4, 11, 10, dtype=torch.float64)
    out_size = layer.output_size
    low = F.conv2d(x, g.reduce.weight, g.reduce.bias)
    feats = [
        F.interpolate(low, out_size, mode="bilinear", align_corners=True),
        low.mean((2, 3), keepdim=True).expand(-1, -1, *out_size),
    ]
    for r, conv in zip((1, 2, 4), g.branches):
        y = F.conv2d(low, conv.weight, conv.bias, dilation=r, groups=2)
        feats.append(F.interpolate(y, out_size, mode="bilinear", align_corners=True))
    h = torch.cat(feats, 1)
    h = torch.relu(F.conv2d(h, g.squeeze.weight, g.squeeze.bias))
    h = torch.sigmoid(F.conv2d(h, g.excite.weight, g.excite.bias))
    logits = F.conv2d(h, g.project.weight, g.project.bias)
    torch.testing.assert_close(layer.combining_weights(x), torch.softmax(logits, 1))


def test_translated_input_moves_the_weights():
    # g sees content: shifting the input shifts the combining weights (away from borders),
    # which is what lets it follow unaligned objects.
    layer = make(size=(16, 16), padding="same")
    x = torch.zeros(1, 4, 16, 16, dtype=torch.float64)
    x[..., 4:7, 4:7] = 1.0
    shifted = torch.roll(x, shifts=(5, 5), dims=(2, 3))
    w1, w2 = layer.combining_weights(x), layer.combining_weights(shifted)
    assert (w1 - w2).abs().max() > 1e-6


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last], ids=str)
def test_inference_splits_a_batch_whose_responses_exceed_the_budget(monkeypatch, fmt):
    # A sweep worker evaluating K = 32 on batches of 1,024 was killed for lack of memory:
    # at inference Algorithm 1 runs on parts of the batch, each with the outputs it would
    # have had in the whole batch.
    from lrlc.layers import lrlc as module

    layer = randomize_(make(rank=4)).to(memory_format=fmt)
    x = torch.randn(10, 4, 10, 9, dtype=torch.float64).contiguous(memory_format=fmt)
    whole = layer(x).detach()  # training mode's forward: the batch whole
    per_example = 4 * 5 * 8 * 7 * 8  # K * C_out * H_out * W_out * 8 bytes
    monkeypatch.setattr(module, "ALGORITHM1_INFERENCE_BYTES", 3 * per_example)
    calls = []
    real = layer._forward_by
    monkeypatch.setattr(layer, "_forward_by", lambda x, p: calls.append(len(x)) or real(x, p))
    with torch.no_grad():
        parts = layer(x)
    assert calls == [3, 3, 3, 1] and parts.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(parts, whole, rtol=1e-12, atol=1e-12)
    calls.clear()
    layer(x)  # with autograd recording: whole
    assert calls == [10]

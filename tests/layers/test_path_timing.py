"""Close calls between Algorithm 1 and the kernel path: timed once per shape, the faster kept
(`lrlc.functional.fastest_path`); everything else by the cost model."""

import pytest
import torch

import lrlc.functional as LFN
from lrlc import LowRankLocallyConnected2d
from lrlc.functional import _kernel_path, _path_timing

from .conftest import randomize_

EVEN = LFN.PathCosts(products=2.0, fixed_examples=0.0, per_rank_examples=0.0)


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """No earlier measurement, measuring on, and a cost model that puts the kernel path at two
    convolutions whatever the batch: a close call at K = 2 (2 vs 2), not at K = 16."""
    LFN.clear_measured_paths()
    previous = LFN.set_path_timing(True)
    monkeypatch.setattr(_kernel_path, "path_costs", lambda device=None: EVEN)
    yield
    LFN.set_path_timing(previous)
    LFN.clear_measured_paths()


def fake_times(monkeypatch, layer, seconds):
    """A clock that moves only when a path runs, by `seconds[path]`; returns the paths run."""
    now, runs = [0.0], []
    monkeypatch.setattr(_path_timing, "_clock", lambda: now[0])
    forward_by = layer._forward_by

    def timed(x, path):
        now[0] += seconds[path]
        runs.append(path)
        return forward_by(x, path)

    monkeypatch.setattr(layer, "_forward_by", timed)
    return runs


def lrlc(rank):
    return randomize_(LowRankLocallyConnected2d(3, 4, 3, input_size=8, rank=rank)).double()


@pytest.mark.parametrize("faster", ["kernel", "basis"])
def test_a_close_call_is_timed_once_and_the_faster_path_kept(monkeypatch, faster):
    layer = lrlc(2)
    slower = {"kernel": "basis", "basis": "kernel"}[faster]
    runs = fake_times(monkeypatch, layer, {faster: 1.0, slower: 3.0})
    x = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    state = torch.get_rng_state()
    out = layer(x)
    assert layer.last_path == faster
    # a warm-up and three timed steps of each path, then the call itself
    assert sorted(runs[:-1]) == ["basis"] * 4 + ["kernel"] * 4 and runs[-1] == faster
    # The measurement wrote no gradient and drew no random number.
    assert all(p.grad is None for p in layer.parameters())
    assert torch.equal(torch.get_rng_state(), state)
    (timing,) = LFN.measured_paths().values()
    assert timing.path == faster and getattr(timing, f"{faster}_s") == 1.0
    assert getattr(timing, f"{slower}_s") == 3.0
    torch.testing.assert_close(out, layer._forward_by(x, slower), rtol=1e-12, atol=1e-12)
    # Same shape again, or a batch size within a factor of 2 (the last batch of an epoch):
    # no new measurement; a batch size further off: one more.
    del runs[:]
    layer(x)
    layer(x[:3])
    layer(torch.cat([x, x]))
    assert runs == [faster] * 3 and len(LFN.measured_paths()) == 1
    layer(x[:2])
    assert len(runs) == 3 + 9 and len(LFN.measured_paths()) == 2


def test_inference_is_timed_apart_from_training(monkeypatch):
    layer = lrlc(2)
    fake_times(monkeypatch, layer, {"kernel": 1.0, "basis": 2.0})
    x = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    layer(x)
    with torch.no_grad():
        layer(x)
    keys = sorted(LFN.measured_paths())
    assert len(keys) == 2 and " infer " in keys[0] and " train " in keys[1]


def test_far_apart_or_switched_off_the_cost_model_decides(monkeypatch):
    x = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    wide = lrlc(16)  # 16 convolutions vs 2: no measurement, the kernel path
    runs = fake_times(monkeypatch, wide, {"kernel": 5.0, "basis": 1.0})
    wide(x)
    assert runs == ["kernel"] and LFN.measured_paths() == {}
    close = lrlc(2)
    runs = fake_times(monkeypatch, close, {"kernel": 1.0, "basis": 5.0})
    LFN.set_path_timing(False)
    close(x)
    assert runs == ["basis"] and LFN.measured_paths() == {}  # the model: 2 is not < 2
    assert close.chosen_path(6) == "basis"  # without a batch, never measured


def test_a_neighbouring_batch_takes_the_nearest_measurement_also_after_a_restore(monkeypatch):
    layer = lrlc(2)
    x = torch.randn(16, 3, 8, 8, dtype=torch.float64)
    runs = fake_times(monkeypatch, layer, {"kernel": 1.0, "basis": 3.0})
    layer(x[:4])  # measured: the kernel path
    ((key4, timing4),) = LFN.measured_paths().items()
    assert timing4.path == "kernel" and " on (4, 3, 8, 8) " in key4
    # A measurement at batch 16 that went the other way, as a resumed run would restore it.
    key16 = key4.replace(" on (4, ", " on (16, ")
    records = {key4: vars(timing4), key16: dict(path="basis", basis_s=1.0, kernel_s=3.0)}
    LFN.clear_measured_paths()
    LFN.restore_measured_paths(records)
    del runs[:]
    # Each batch size takes the nearer measurement (8 is 2x from both: the smaller batch).
    for batch, path in [(3, "kernel"), (5, "kernel"), (8, "kernel"), (9, "basis"), (32, "basis")]:
        layer(x.repeat(2, 1, 1, 1)[:batch])
        assert layer.last_path == path, batch
    assert runs == ["kernel"] * 3 + ["basis"] * 2 and len(LFN.measured_paths()) == 2
    with torch.no_grad():  # inference is its own family: measured apart
        layer(x[:4])
    assert len(LFN.measured_paths()) == 3


def test_on_an_always_measured_device_far_apart_calls_are_timed_too(monkeypatch):
    assert "cuda" in _path_timing.ALWAYS_MEASURED and "cpu" not in _path_timing.ALWAYS_MEASURED
    # The CPU stands in for a GPU here.
    monkeypatch.setattr(_path_timing, "ALWAYS_MEASURED", frozenset({"cpu"}))
    wide = lrlc(16)  # the model says the kernel path, by 16 to 2 convolutions
    runs = fake_times(monkeypatch, wide, {"kernel": 5.0, "basis": 1.0})
    wide(torch.randn(6, 3, 8, 8, dtype=torch.float64))
    assert wide.last_path == "basis" and len(runs) == 9
    (timing,) = LFN.measured_paths().values()
    assert timing.path == "basis" and timing.kernel_s == 5.0


def test_the_functional_form_times_its_close_calls_too():
    x = torch.randn(5, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    bases = torch.randn(2, 4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    weights = torch.softmax(torch.randn(2, 6, 6, dtype=torch.float64), 0).requires_grad_()
    bias_map = torch.randn(4, 6, 6, dtype=torch.float64, requires_grad=True)
    out = LFN.low_rank_locally_connected2d(x, bases, weights, bias_map)
    (key,) = LFN.measured_paths()
    timing = LFN.measured_paths()[key]
    assert key.startswith("low_rank_locally_connected2d") and timing.path in ("basis", "kernel")
    assert timing.path == ("kernel" if timing.kernel_s < timing.basis_s else "basis")
    assert all(t.grad is None for t in (x, bases, weights, bias_map))
    ref = LFN.low_rank_locally_connected2d(x, bases, weights, bias_map, path="basis")
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(out)
    got = torch.autograd.grad(out, (x, bases, weights, bias_map), g)
    want = torch.autograd.grad(ref, (x, bases, weights, bias_map), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)

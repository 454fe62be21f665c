"""A preset's machine time from measured per-image costs: the lookup between measured ranks,
each run's seconds by hand, the sums per sweep, and a real (tiny) measurement."""

import json
import math

import pytest

from lrlc.experiments.config import TrainConfig
from lrlc.experiments.reproduce import Preset, SweepPlan
from lrlc.experiments.reproduce.budget import (
    Timing,
    estimate,
    estimate_markdown,
    load_timings,
    lookup,
    main,
    measure,
    run_seconds,
)

T = [Timing("lrlc3", 1, 28, 4.0, 2.0), Timing("lrlc3", 4, 28, 7.0, 3.0)]
T += [Timing("conv", 1, 28, 3.0, 1.0), Timing("conv", 1, 42, 9.0, 3.0)]


def test_lookup_is_exact_or_linear_in_the_rank():
    assert lookup(T, "lrlc3", 4, 28) == T[1]
    assert lookup(T, "lrlc3", 2, 28).train_ms == pytest.approx(5.0)  # 1/3 of the way
    assert lookup(T, "lrlc3", 8, 28).eval_ms == pytest.approx(3.0 + 4 / 3)  # beyond: same slope
    assert lookup(T, "conv", 1, 42).train_ms == 9.0
    with pytest.raises(ValueError, match="no timing measured for wide3 on 28x28"):
        lookup(T, "wide3", 2, 28)


@pytest.mark.parametrize("val_every, validations", [(0, 1), (1, 10), (3, 4), (5, 2)])
def test_one_runs_seconds_by_hand(val_every, validations):
    config = TrainConfig(dataset="mnist", epochs=10, train_size=2000, val_every=val_every)
    train_s, eval_s = run_seconds(config, Timing("conv", 1, 28, 3.0, 1.0))
    assert train_s == pytest.approx(10 * 2000 * 3.0 / 1e3)
    # validation passes of 4,800, one pass over the 2,000 training and the 10,000 test images
    assert eval_s == pytest.approx((validations * 4800 + 2000 + 10000) * 1.0 / 1e3)


def test_a_presets_estimate_sums_its_runs():
    settings = dict(epochs=2, train_size=1000, val_every=0)
    preset = Preset("p", "", (
        SweepPlan("a", "mnist", ("conv", "lrlc3"), (1, 4), (0, 1), settings),
        SweepPlan("b", "mnist", ("conv",), (1,), (0,), dict(settings, canvas="random:42")),
    ))  # fmt: skip
    a, b = estimate(preset, T)
    per_seed = 2 * 1000 * (3.0 + 4.0 + 7.0) / 1e3
    assert (a.runs, b.runs) == (6, 1) and a.train_s == pytest.approx(2 * per_seed)
    assert a.eval_s == pytest.approx(2 * (4800 + 1000 + 10000) * (1.0 + 2.0 + 3.0) / 1e3)
    assert b.train_s == pytest.approx(2 * 1000 * 9.0 / 1e3)
    assert a.longest_s == pytest.approx(2 * 7.0 + 15.8 * 3.0)
    text = estimate_markdown([a, b], workers=2)
    total = a.total_s + b.total_s
    wall = (total / 2 + (a.longest_s + b.longest_s) / 2) / 3600
    assert "| **all** | 7 |" in text and f"**{wall:.1f} h**" in text


def test_a_real_tiny_measurement(tmp_path, data_dir):
    settings = dict(train_size=2000, width=8, epochs=5, batch_size=64, precision="fp32")
    preset = Preset("m", "", (SweepPlan("a", "mnist", ("conv", "lrlc3"), (2,), (0,), settings),))
    timings = measure(preset, tmp_path, str(data_dir), n_train=128, n_eval=128, repeats=1)
    assert {(t.model, t.rank, t.side) for t in timings} == {("conv", 1, 28), ("lrlc3", 2, 28)}
    assert all(math.isfinite(t.train_ms) and t.train_ms > 0 and t.eval_ms > 0 for t in timings)
    assert load_timings(tmp_path) == timings
    # CPU time, never more than the wall time it was measured in.
    for cpu, wall in zip(timings, load_timings(tmp_path, wall=True), strict=True):
        assert (cpu.model, cpu.rank) == (wall.model, wall.rank)
        assert cpu.train_ms <= wall.train_ms and cpu.eval_ms <= wall.eval_ms
    record = json.loads((tmp_path / "timings.json").read_text())
    assert record["threads"] == 1 and record["n_train"] == 128


def test_the_command_line_says_what_is_missing(capsys):
    assert main(["estimate", "--preset", "smoke"]) == 2
    assert "estimate needs --timings" in capsys.readouterr().err

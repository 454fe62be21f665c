"""The hours left of a preset on this machine: the budget's estimate of the unfinished runs,
scaled by the finished runs' wall times against their own estimates; computed by hand here."""

import json

import pytest

from lrlc.experiments.reproduce import Preset, SweepPlan
from lrlc.experiments.reproduce.budget import Timing, lookup, run_seconds, side_of
from lrlc.experiments.reproduce.remaining import by_sweep, main, remaining, sweep_lines, total
from lrlc.experiments.sweep import run_dir

T = [Timing("conv", 1, 28, 3.0, 1.0), Timing("lrlc3", 1, 28, 4.0, 2.0)]
T += [Timing("lrlc3", 2, 28, 6.0, 2.0)]
SETTINGS = dict(epochs=2, train_size=100, val_every=0)


def preset() -> Preset:
    return Preset("p", "", (
        SweepPlan("a", "mnist", ("conv", "lrlc3"), (1, 2), (0,), SETTINGS),
        SweepPlan("b", "mnist", ("conv",), (1,), (0, 1), SETTINGS),
    ))  # fmt: skip


def test_the_estimate_of_what_is_left_is_scaled_by_what_is_done(tmp_path):
    configs = [(p.name, c) for p in preset().sweeps for c in p.grid().configs()]
    assert len(configs) == 5  # a: conv, lrlc3 at ranks 1 and 2; b: conv, seeds 0 and 1
    est = {id(c): sum(run_seconds(c, lookup(T, c.model, c.rank, side_of(c)))) for _, c in configs}
    done = configs[1:3]  # both lrlc3 runs, at twice their estimate together
    for sweep, config in done:
        folder = run_dir(tmp_path / sweep, config)
        folder.mkdir(parents=True)
        result = {"metrics": {"wall_time_s": 2 * est[id(config)]}}
        (folder / "result.json").write_text(json.dumps(result))
    left = remaining(preset(), tmp_path, T)
    assert (left.finished, left.planned, left.scale) == (2, 5, pytest.approx(2.0))
    unfinished = sum(est[id(c)] for s, c in configs if (s, c) not in done)
    assert left.remaining_s() == pytest.approx(2 * unfinished)
    assert "2 of 5 runs finished" in left.describe(2) and "on 2 workers" in left.describe(2)
    # Nothing done yet: the estimate as it is.
    assert remaining(preset(), tmp_path / "none", T).scale == 1.0


def test_a_missing_timings_file_is_one_clear_message(tmp_path, capsys):
    assert main([str(tmp_path), "--timings", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("remaining: error:") and "nope.json" in err and "Traceback" not in err


def test_each_unfinished_sweep_gets_its_own_line_scaled_like_the_whole(tmp_path):
    configs = [(p.name, c) for p in preset().sweeps for c in p.grid().configs()]
    est = {id(c): sum(run_seconds(c, lookup(T, c.model, c.rank, side_of(c)))) for _, c in configs}
    for sweep, config in configs[:3]:  # all of sweep a, at three times its estimate
        folder = run_dir(tmp_path / sweep, config)
        folder.mkdir(parents=True)
        result = {"metrics": {"wall_time_s": 3 * est[id(config)]}}
        (folder / "result.json").write_text(json.dumps(result))
    parts = by_sweep(preset(), tmp_path, T)
    assert (parts["a"].finished, parts["a"].planned) == (3, 3)
    assert (parts["b"].finished, parts["b"].planned) == (0, 2)
    assert total(parts) == remaining(preset(), tmp_path, T)
    (line,) = sweep_lines(parts, scale=3.0, workers=2)  # sweep a is done: no line
    hours = 3 * sum(est[id(c)] for s, c in configs if s == "b") / 3600
    assert line.startswith("  b: 0 of 2 runs finished") and f"about {hours:.1f} h" in line

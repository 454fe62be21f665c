"""`lrlc bench`: both benchmarks run from the command line and their ratios add up.

Only the bookkeeping is checked (baselines, ratios, targets); timings are never asserted.
"""

import json
import math

import pytest
import torch

from lrlc.cli import main


def _by_case(rows):
    return {(r["mode"], r["case"], r["batch"], r["rank"]): r for r in rows}


def _assert_handoff_recorded(report):
    """The hand-off probe (lrlc.bench.handoff), taken at the start and at the end, is part of
    every benchmark's record, as the load is."""
    for key in ("handoff_us_start", "handoff_us_end", "loadavg_start", "loadavg_end"):
        assert key in report["machine"], key
    assert math.isfinite(report["machine"]["handoff_us_start"])
    assert math.isfinite(report["machine"]["handoff_us_end"])


def test_layer_benchmark_ratios_are_against_the_baseline_of_the_same_run(tmp_path, capsys):
    out = tmp_path / "layers.json"
    args = ["bench", "layers", "--quick", "--batch", "2", "--ranks", "1", "2", "--reps", "1"]
    args += ["--min-reps", "1", "--warmup", "1", "--naive-max-batch", "2", "--json", str(out)]
    assert main(args) == 0
    assert "target" in capsys.readouterr().out
    report = json.loads(out.read_text())
    rows = _by_case(report["rows"])
    cases = {(m, c) for m, c, _, _ in rows}
    assert {("train", "floor_conv"), ("train", "lrlc_fixed"), ("train", "lrlc_input_dep")} <= cases
    assert {("infer", "lc_converted"), ("infer", "lc_unfold_naive")} <= cases
    for (mode, _, batch, rank), row in rows.items():
        base = rows[(mode, row["baseline"], batch, rank)]
        assert math.isclose(row["time_ratio"], row["median_ms"] / base["median_ms"], rel_tol=1e-9)
        assert row["median_ms"] > 0 and row["peak_mib"] > 0
    for t in report["targets"]:
        bound = float(t["target"].split()[-1])
        assert t["met"] == (t["value"] <= bound if "<=" in t["target"] else t["value"] >= bound)
    assert {t["rank"] for t in report["targets"] if t["mode"] == "train"} == {1, 2}
    _assert_handoff_recorded(report)


def test_training_benchmark_reports_epoch_times(tmp_path):
    out = tmp_path / "training.json"
    assert main(["bench", "training", "--quick", "--precision", "fp32", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    _assert_handoff_recorded(report)
    rows = report["rows"]
    assert {(r["model"], r["mode"]) for r in rows} == {
        (m, k) for m in ("conv", "lrlc3 r4", "lrlc3 r16") for k in ("fp32", "fp32+cl")
    }
    base = rows[0]
    assert (base["model"], base["mode"], base["ratio"]) == ("conv", "fp32", 1.0)
    conv = {r["mode"]: r["step_s"] for r in rows if r["model"] == "conv"}
    for r in rows:
        assert math.isclose(r["ratio"], r["step_s"] / base["step_s"], rel_tol=1e-9)
        assert math.isclose(r["ratio_same_mode"], r["step_s"] / conv[r["mode"]], rel_tol=1e-9)
        assert math.isclose(r["epoch_60k_s"], r["step_s"] * math.ceil(60_000 / r["batch"]))


def test_training_benchmark_modes_set_every_switch():
    # The trainer's bf16 default once turned the "fp32" mode into bf16 without a word.
    from lrlc.bench.training import MODES, mode_plan

    for name, switches in MODES.items():
        plan = mode_plan(switches)
        assert plan.precision == ("bf16" if "bf16" in name else "fp32"), name
        assert plan.channels_last == ("cl" in name.split("+")), name
        assert plan.compile == ("compile" in name), name


def test_training_benchmark_measures_bf16_only_where_it_is_native():
    from lrlc.bench.training import chosen_modes

    def precisions(modes):
        return {m["precision"] for m in modes.values()}

    assert precisions(chosen_modes("auto", False, native_bf16=True)) == {"fp32", "bf16"}
    assert precisions(chosen_modes("auto", False, native_bf16=False)) == {"fp32"}
    assert precisions(chosen_modes("bf16", False, native_bf16=False)) == {"bf16"}
    assert precisions(chosen_modes("all", False, native_bf16=False)) == {"fp32", "bf16"}
    assert not any(m["compile"] for m in chosen_modes("all", True, native_bf16=True).values())
    assert any(m["compile"] for m in chosen_modes("all", False, native_bf16=True).values())
    no_compile = chosen_modes("all", False, native_bf16=True, compile=False)
    assert set(no_compile) == {"fp32", "fp32+cl", "bf16", "bf16+cl"}


def test_bench_without_a_name_says_what_to_pass(capsys):
    assert main(["bench"]) == 2
    err = capsys.readouterr().err
    assert "lrlc bench {layers,rank,training}" in err and "required" not in err


@pytest.mark.parametrize(
    ("argv", "flag", "says"),
    [
        (["rank", "--ranks", "1", "0"], "--ranks", "must be >= 1, got 0"),
        (["rank", "--batch", "-4"], "--batch", "must be >= 1, got -4"),
        (["rank", "--threads", "0"], "--threads", "must be >= 1, got 0"),
        (["rank", "--budget", "nan"], "--budget", "finite number > 0"),
        (["layers", "--reps", "0"], "--reps", "must be >= 1, got 0"),
        (["layers", "--warmup", "-1"], "--warmup", "must be >= 0, got -1"),
        (["layers", "--naive-max-batch", "x"], "--naive-max-batch", "expected an integer"),
        (["training", "--batch", "0"], "--batch", "must be >= 1, got 0"),
    ],
)
def test_a_bench_count_out_of_range_is_one_message_before_anything_runs(argv, flag, says, capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse's exit, as for the top-level flags
        main(["bench", *argv])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert f"argument {flag}" in captured.err and says in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_quick_fills_in_only_the_counts_not_given():
    from lrlc.bench import layers, rank, training

    quick = training.parse_args(["--quick"])
    assert (quick.batch, quick.reps) == (64, 2)
    given = training.parse_args(["--quick", "--batch", "16", "--reps", "3"])
    assert (given.batch, given.reps) == (16, 3)
    assert training.parse_args([]).batch == 512
    assert rank.parse_args(["--quick", "--batch", "16"]).batch == [16]
    assert layers.parse_args(["--quick", "--batch", "16"]).batch == [16]


def _run_once(steps, budget_s, before=None, **timing):
    """measure_group's stand-in: each step run once, fixed figures back."""
    for step in steps.values():
        step()
    return {name: {"times_s": [1.0], "peak_bytes": 1} for name in steps}


def test_rank_benchmark_ratios_are_against_one_convolution_of_the_same_run(tmp_path):
    out = tmp_path / "rank.json"
    args = ["bench", "rank", "--quick", "--batch", "2", "--ranks", "2", "--budget", "1"]
    assert main(args + ["--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {(r["mode"], r["case"], r["rank"]): r for r in report["rows"]}
    cases = {(m, c) for m, c, _ in rows}
    assert {("train", c) for c in ("conv", "lrlc_basis", "lrlc_kernel", "lrlc_auto")} <= cases
    assert {("train", "lc_train"), ("infer", "lc_infer")} <= cases
    for (mode, _case, rank), r in rows.items():  # each group's baseline is its own convolution
        base = rows[(mode, "conv" if mode == "train" else "conv_infer", rank)]
        assert math.isclose(r["time_ratio"], r["median_ms"] / base["median_ms"], rel_tol=1e-9)
    assert rows[("train", "lrlc_auto", 2)]["chosen"] in ("basis", "kernel")
    auto = [t for t in report["targets"] if t["target"].startswith("time lrlc_auto")]
    assert len(auto) == 1 and auto[0]["met"] == (auto[0]["value"] <= 1.05)
    _assert_handoff_recorded(report)
    for r in report["rows"]:  # each group's rows carry the probe read before and after it
        assert len(r["handoff_us"]) == 2 and all(map(math.isfinite, r["handoff_us"]))


def test_the_rank_benchmark_names_the_groups_read_in_the_slow_state(monkeypatch, capsys):
    from lrlc.bench import harness, rank

    # at the start, then after each group: K = 1, K = 2, the locally connected layer
    readings = iter([10.0, 10.0, 200.0, 10.0])
    monkeypatch.setattr(rank, "measure_group", _run_once)
    monkeypatch.setattr(rank, "handoff_us", lambda: next(readings))
    monkeypatch.setattr(harness, "handoff_us", lambda: next(readings))
    assert main(["bench", "rank", "--batch", "1", "--ranks", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "slow hand-off reading before or after them: N=1 K=2, N=1 LC" in out


def test_the_handoff_probe_is_the_pairs_cost_beyond_its_parts(monkeypatch):
    from lrlc.bench import handoff

    costs = {"build": 50.0, "product": 400.0, "both": 620.0}
    monkeypatch.setattr(handoff, "_per_call_us", lambda step, calls: costs[step.__name__])
    assert handoff.handoff_us() == 170.0
    # the median of its readings: one disturbed reading does not decide it
    readings = iter([(50.0, 400.0, 460.0), (50.0, 900.0, 460.0), (50.0, 400.0, 470.0)])
    monkeypatch.setattr(handoff, "handoff_parts", lambda calls: next(readings))
    assert handoff.handoff_us() == 10.0
    assert handoff.describe(170.0) == "+170 us (slow)"
    assert handoff.describe(12.0) == "+12 us (fast)"


def test_rank_benchmark_runs_every_case_in_the_precision_asked_for(tmp_path, capsys, monkeypatch):
    from lrlc.bench import rank

    # Each case's step, run once where the harness would time it: under autocast or not?
    seen = {}

    probe = rank.train_step

    def autocast_probe(module, x):
        step = probe(module, x)

        def checked():
            enabled = torch.is_autocast_enabled("cpu")
            bf16 = enabled and torch.get_autocast_dtype("cpu") == torch.bfloat16
            seen.setdefault("inside", set()).add(bf16)
            step()

        return checked

    monkeypatch.setattr(rank, "measure_group", _run_once)
    monkeypatch.setattr(rank, "train_step", autocast_probe)
    out = tmp_path / "rank.json"
    args = ["bench", "rank", "--batch", "1", "--ranks", "2", "--precision", "bf16"]
    assert main(args + ["--json", str(out)]) == 0
    assert seen["inside"] == {True}  # every training step, the convolution's included
    assert json.loads(out.read_text())["config"]["precision"] == "bf16"
    assert "bf16, native bf16" in capsys.readouterr().out
    seen.clear()
    assert main(["bench", "rank", "--batch", "1", "--ranks", "2"]) == 0
    assert seen["inside"] == {False}


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_rank_benchmark_times_autos_close_call_before_it_measures(monkeypatch, precision):
    # Else the profiled call would time both paths, and auto's peak memory be theirs.
    from lrlc.bench import rank
    from lrlc.functional import _path_timing

    monkeypatch.setattr(_path_timing, "is_close_call", lambda *estimates: True)
    real, timed, phase = _path_timing._time_paths, [], {"measuring": False}

    def spy(run, wrt):
        timed.append(phase["measuring"])
        return real(run, wrt)

    def run_once(steps, budget_s, before=None, **timing):
        phase["measuring"] = True
        try:
            return _run_once(steps, budget_s)
        finally:
            phase["measuring"] = False

    monkeypatch.setattr(_path_timing, "_time_paths", spy)
    monkeypatch.setattr(rank, "measure_group", run_once)
    previous = _path_timing.set_path_timing(True)
    _path_timing.clear_measured_paths()
    try:
        args = ["bench", "rank", "--batch", "1", "--ranks", "2", "--precision", precision]
        assert main(args) == 0
    finally:
        _path_timing.set_path_timing(previous)
        _path_timing.clear_measured_paths()
    assert timed == [False]  # timed once, before the measurements


def test_rank_benchmark_on_a_gpu_this_machine_lacks_is_one_clear_message(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the message is for machines without one")
    assert main(["bench", "rank", "--quick", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU" in err and "--device cpu" in err and "Traceback" not in err


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last], ids=str)
def test_the_layer_benchmarks_send_a_dense_output_gradient(fmt):
    # out.sum().backward() sends a stride-0 gradient, which hid a 30x slow bias-gradient sum.
    from lrlc.bench.layers import train_step

    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            y = x * 2
            y.register_hook(lambda g: seen.append((g.stride(), g.abs().sum().item())))
            return y

    x = torch.randn(2, 3, 4, 5).contiguous(memory_format=fmt).requires_grad_()
    step = train_step(Probe(), x)
    step()
    step()
    assert [s for s, _ in seen] == [x.stride(), x.stride()]  # dense, in the output's layout
    assert seen[0][1] == seen[1][1] > 0  # the same gradient every step


@pytest.mark.parametrize(
    "flag, fmt", [([], torch.contiguous_format), (["--channels-last"], torch.channels_last)]
)
def test_rank_benchmark_runs_every_case_in_the_layout_asked_for(tmp_path, monkeypatch, flag, fmt):
    # The trainer's default on AVX-512 CPUs is channels_last: the layer benchmark can measure
    # in it, the baseline convolution's input and weight included.
    from lrlc.bench import rank

    seen = []

    probe = rank.train_step

    def layout_probe(module, x):
        weights = [p for p in module.parameters() if p.dim() == 4]
        seen.append((x.is_contiguous(memory_format=fmt), module))
        assert all(w.is_contiguous(memory_format=fmt) for w in weights)
        return probe(module, x)

    monkeypatch.setattr(rank, "measure_group", _run_once)
    monkeypatch.setattr(rank, "train_step", layout_probe)
    out = tmp_path / "rank.json"
    assert main(["bench", "rank", "--batch", "2", "--ranks", "2", "--json", str(out), *flag]) == 0
    assert len(seen) >= 6 and all(ok for ok, _ in seen)
    assert any(isinstance(m, torch.nn.Conv2d) for _, m in seen)
    assert json.loads(out.read_text())["config"]["channels_last"] == bool(flag)

"""Rows of linked sweeps (ablations, the canvas pair) in a dataset's report, the flags on every
row (training accuracy under the bar, rank at the top of the grid), and partial sweeps."""

import csv
import io
import json
import math

import pytest

from lrlc.experiments.report import Linked, ReportError, write_report

from .helpers import fake_run

CENTRED, RANDOM = "centred canvas", "random canvas"


def _claims(out):
    rows = csv.DictReader(io.StringIO((out / "claims.csv").read_text()))
    return {(r["claim"], r["better"], r["worse"]): r for r in rows}


@pytest.fixture
def sweeps(tmp_path):
    """A main sweep, an init ablation and the canvas pair, two seeds each."""
    main, ablation = tmp_path / "main", tmp_path / "init"
    centred, moved = tmp_path / "centred", tmp_path / "random"
    for seed, jitter in enumerate((0.0, 0.2)):
        fake_run(main, "conv", 1, seed, val=95, test=95 + jitter, train=97.0)
        for rank, acc in ((2, 98.0), (4, 98.5)):
            fake_run(main, "lrlc3", rank, seed, val=acc, test=acc + jitter)
        fake_run(ablation, "lrlc3", 2, seed, val=97.9, test=98.1 - jitter,
                 layer_kwargs={"init": "random"})  # fmt: skip
        for folder, canvas, fixed, dependent in (
            (centred, "centre:42", 97.0, 96.9),
            (moved, "random:42", 93.0, 95.0),
        ):
            fake_run(folder, "lrlc3", 2, seed, val=fixed, test=fixed + jitter, canvas=canvas)
            fake_run(folder, "lrlc3_id", 2, seed, val=dependent, test=dependent - jitter,
                     canvas=canvas)  # fmt: skip
    links = [Linked("init random", ablation), Linked(CENTRED, centred), Linked(RANDOM, moved)]
    return main, links


def test_linked_rows_join_the_tables_and_the_claims(sweeps, tmp_path):
    main, links = sweeps
    out = tmp_path / "report"
    written = write_report(main, out, linked=links)
    md = (out / "report.md").read_text()
    assert "| LRLC (3RD LAYER) [init random] | lrlc3@init random |" in md
    assert "| LRLC (3RD LAYER & INPUT DEPENDENT WEIGHTS) [random canvas] |" in md
    assert "[random canvas]: mnist, at random positions on a 42x42 canvas" in md
    claims = _claims(out)
    init = claims[("constant (conv) and random combining init are similar", "LRLC (3RD LAYER)",
                   "LRLC (3RD LAYER) [init random]")]  # fmt: skip
    # lrlc3 chose rank 4 (98.5, 98.7) vs init random (98.1, 97.9): +0.6 ± sqrt(0.1^2 + 0.1^2)
    assert float(init["diff_mean"]) == pytest.approx(0.6)
    assert float(init["diff_se"]) == pytest.approx(math.sqrt(0.02))
    assert init["verdict"] == "first ahead" and "Supp. Fig. 1" in init["paper_note"]
    assert init["paper_diff_mean"] == ""  # the paper has figures only for its ablations
    slide12 = next(r for k, r in claims.items() if k[0].startswith("misalignment"))
    # (94.9 - 93.1) on the random canvas minus (96.8 - 97.1) on the centred one (the seeds
    # differ by 0.2: each mean has SE 0.1, and the four of them sqrt(4 * 0.1^2)).
    assert float(slide12["diff_mean"]) == pytest.approx(1.8 + 0.3)
    assert float(slide12["diff_se"]) == pytest.approx(math.sqrt(4 * 0.1**2))
    assert slide12["verdict"] == "holds" and "C = LRLC" in slide12["note"]
    on_random = next(r for k, r in claims.items() if k[0].endswith("on the random canvas"))
    assert on_random["paper_note"] == "CIFAR-10: +2.21 (Table 3)"
    names = {p.name for p in written}
    assert {"supp_fig1_init.png", "canvas_fixed_vs_input_dependent.png"} <= names
    assert "supp_fig2_combining.png" not in names  # its ablation was not linked


def test_flags_mark_rows_below_the_training_bar_and_ranks_at_the_top(sweeps, tmp_path):
    main, links = sweeps
    write_report(main, tmp_path / "report", figures=False, linked=links)
    rows = {r["model"]: r for r in csv.DictReader(open(tmp_path / "report" / "all_models.csv"))}
    assert rows["conv"]["flags"] == "train < 99%"  # 97% training accuracy
    assert rows["lrlc3"]["flags"] == "rank = largest run"  # chose 4 of 2, 4
    assert rows["lrlc3@init random"]["flags"] == ""  # one rank run: no grid to be at the top of
    beats_conv = _claims(tmp_path / "report")[
        ("LRLC beats convolution", "LRLC (3RD LAYER)", "CONVOLUTION")
    ]
    assert beats_conv["flags"] == "B train < 99%" and beats_conv["train"] == "100.00 / 97.00"
    table1 = (tmp_path / "report" / "table1.csv").read_text().splitlines()
    assert table1[0].startswith("label,test_mean,test_se,train_mean,train_se,rank,seeds,flags")


def test_a_linked_sweep_of_another_protocol_is_refused(sweeps, tmp_path):
    main, _ = sweeps
    other = tmp_path / "other"
    fake_run(other, "lrlc3", 2, 0, val=97.0, test=97.0, epochs=5, layer_kwargs={"init": "random"})
    with pytest.raises(ReportError, match="another protocol.*epochs: 3 here, 5 there"):
        write_report(main, tmp_path / "r", figures=False, linked=[Linked("init random", other)])
    # A linked sweep with nothing finished yet is left out, not an error.
    write_report(main, tmp_path / "r", figures=False, linked=[Linked("x", tmp_path / "none")])


def test_captions_count_the_runs_of_a_partial_sweep(sweeps, tmp_path):
    main, _ = sweeps
    (main / "sweep.json").write_text(json.dumps({"runs_total": 10}))
    write_report(main, tmp_path / "r", figures=False)
    assert "PARTIAL: 6 of 10 planned runs finished" in (tmp_path / "r" / "report.md").read_text()
    (main / "sweep.json").write_text(json.dumps({"runs_total": 6}))
    write_report(main, tmp_path / "r", figures=False)
    assert "Runs: all 6 planned." in (tmp_path / "r" / "report.md").read_text()


def test_a_link_may_train_longer_where_it_says_so_and_its_group_must_agree(sweeps, tmp_path):
    main, _ = sweeps
    pair = [tmp_path / "centred48", tmp_path / "random48"]
    for folder, canvas, epochs in zip(pair, ("centre:42", "random:42"), (6, 6)):
        for seed in (0, 1):
            for model, acc in (("lrlc3", 96.0), ("lrlc3_id", 95.0 + seed)):
                fake_run(folder, model, 2, seed, val=acc, test=acc, canvas=canvas, epochs=epochs)
    links = [Linked(CENTRED, pair[0], ("epochs",)), Linked(RANDOM, pair[1], ("epochs",))]
    out = tmp_path / "report"
    write_report(main, out, figures=False, linked=links)
    md = (out / "report.md").read_text()
    assert "trained with epochs 6 (main sweep: 3), compared only with such rows" in md
    assert "of the same protocol unless said" in md
    claim = _claims(out)[("fixed weights win or tie on the centred canvas",
                          f"LRLC (3RD LAYER) [{CENTRED}]",
                          f"LRLC (3RD LAYER & INPUT DEPENDENT WEIGHTS) [{CENTRED}]")]  # fmt: skip
    assert float(claim["diff_mean"]) == pytest.approx(0.5)  # 96 vs (95 + 96) / 2
    # Without the allowance the longer training is refused, as before.
    with pytest.raises(ReportError, match="another protocol.*epochs: 3 here, 6 there"):
        write_report(main, tmp_path / "r1", figures=False, linked=[Linked(CENTRED, pair[0])])
    # The pair must agree on what they share apart from the main sweep.
    odd = tmp_path / "random9"
    fake_run(odd, "lrlc3", 2, 0, val=90.0, test=90.0, canvas="random:42", epochs=9,
             warmup_epochs=0)  # fmt: skip
    with pytest.raises(ReportError, match=r"\[centred canvas\] and \[random canvas\] differ"):
        write_report(main, tmp_path / "r2", figures=False,
                     linked=[links[0], Linked(RANDOM, odd, ("epochs",))])  # fmt: skip


def test_a_figure_of_linked_rows_only_is_subtitled_with_their_protocol(
    sweeps, tmp_path, monkeypatch
):
    """The canvas pair trains 6 epochs here, the main sweep 3: the canvas figure must say 6
    and name the canvases; a figure with a main row keeps the main sweep's protocol."""
    from lrlc.experiments.report import linked_figures

    main, links = sweeps
    pair = [tmp_path / "centred6", tmp_path / "random6"]
    for folder, canvas in zip(pair, ("centre:42", "random:42")):
        for model in ("lrlc3", "lrlc3_id"):
            fake_run(folder, model, 2, 0, val=96.0, test=96.0, canvas=canvas, epochs=6)
    links = [links[0], Linked(CENTRED, pair[0], ("epochs",)), Linked(RANDOM, pair[1], ("epochs",))]
    seen = {}
    real = linked_figures._figure

    def spy(setting, title, *args, name=None, protocol=None, **kwargs):
        seen[title] = (name or setting.name, protocol or setting.protocol)
        return real(setting, title, *args, name=name, protocol=protocol, **kwargs)

    monkeypatch.setattr(linked_figures, "_figure", spy)
    write_report(main, tmp_path / "report", linked=links)
    data, protocol = next(v for t, v in seen.items() if t.startswith("Fixed vs input-dep"))
    assert "centred on a 42x42 canvas" in data and "at random positions on a 42x42" in data
    assert "epochs=6" in protocol and "canvas" not in protocol and "epochs=3" not in protocol
    data, protocol = next(v for t, v in seen.items() if "Supp. Fig. 1" in t)
    assert data == "mnist" and "epochs=3" in protocol

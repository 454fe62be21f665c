"""Tables from hand-made results: selection on validation, mean and SE, paper columns, protocol
checks, the relaxation table, and the output formats."""

import csv
import io
import json
import math

import pytest

from lrlc.cli import main
from lrlc.experiments.report import (
    ReportError,
    build_tables,
    check_setting,
    load_runs,
    mean_se,
    summarize,
    to_csv,
    to_latex,
    to_markdown,
    write_report,
)

from .helpers import fake_run


def tables_of(sweep):
    runs = load_runs(sweep)
    setting = check_setting(runs)
    return {t.key: t for t in build_tables(summarize(runs), setting)}


def row_of(table, model):
    return next(r for r in table.rows if r["model"] == model)


def test_mean_and_standard_error_by_hand():
    s = mean_se([1.0, 2.0, 3.0, 4.0])
    # sample variance = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3; SE = sqrt(5/3) / 2
    assert s.mean == 2.5 and s.n == 4
    assert s.se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert s.fmt() == "2.50 ± 0.65"
    one = mean_se([97.0])
    assert one.se is None and one.fmt() == "97.00 ± n/a"


def test_rank_is_chosen_on_mean_validation_not_test(tmp_path):
    # rank 2: better validation, worse test; rank 4: the reverse. Rank 2 must win.
    for seed, (v2, t2, v4, t4) in enumerate([(92, 80, 89, 95), (94, 82, 90, 97)]):
        fake_run(tmp_path, "lrlc3", 2, seed, val=v2, test=t2)
        fake_run(tmp_path, "lrlc3", 4, seed, val=v4, test=t4)
    fake_run(tmp_path, "conv", 1, 0, val=90, test=90)
    row = row_of(tables_of(tmp_path)["table1"], "lrlc3")
    assert row["rank"] == 2 and row["seeds"] == 2
    assert row["test"].mean == pytest.approx(81.0)
    assert row["test"].se == pytest.approx(1.0)  # std([80, 82], ddof=1) / sqrt(2)
    conv = row_of(tables_of(tmp_path)["table1"], "conv")
    assert conv["rank"] is None and conv["test"].se is None


def test_paper_columns_come_from_the_csv_and_are_never_averaged(tmp_path):
    fake_run(tmp_path, "conv", 1, 0, val=50, test=50)
    fake_run(tmp_path, "conv", 1, 1, val=52, test=52)
    tables = tables_of(tmp_path)
    conv = row_of(tables["table1"], "conv")
    assert conv["test"].mean == 51.0  # ours only
    assert (conv["paper_test"].mean, conv["paper_test"].se) == (98.84, 0.01)  # Table 1, MNIST
    assert row_of(tables["table2"], "coordconv")["paper_test"].mean == 99.46
    assert "test" not in row_of(tables["table2"], "coordconv")  # not run: no number of ours
    md = to_markdown(tables.values())
    assert "| CONVOLUTION | 51.00 ± 1.00 | 100.00 ± 0.00 | — | 2 |  | 98.84 ± 0.01 |" in md
    assert "paper: test %" in md and "Elsayed et al. 2020" in md
    rows = list(csv.DictReader(io.StringIO(to_csv(tables["table1"]))))
    first = rows[0]
    assert float(first["test_mean"]) == 51.0 and float(first["paper_test_mean"]) == 98.84


@pytest.mark.parametrize("dataset, translate", [("fashion_mnist", 0), ("mnist", 4)])
def test_no_paper_numbers_for_datasets_not_in_the_paper(tmp_path, dataset, translate):
    fake_run(tmp_path, "conv", 1, 0, val=80, test=80, dataset=dataset, translate=translate)
    table = tables_of(tmp_path)["table1"]
    assert "paper_test" not in dict(table.columns)
    assert "No paper numbers (dataset not in the paper)" in table.caption


def test_mixing_protocols_is_refused(tmp_path):
    fake_run(tmp_path, "conv", 1, 0, val=80, test=80, epochs=3)
    fake_run(tmp_path, "conv", 1, 1, val=80, test=80, epochs=5)
    with pytest.raises(ReportError, match="refusing to mix"):
        check_setting(load_runs(tmp_path))
    assert main(["report", str(tmp_path), "--no-figures"]) == 2


def test_caption_states_the_reduced_protocol(tmp_path):
    fake_run(tmp_path, "conv", 1, 0, val=80, test=80, epochs=3, train_size=1000, translate=2)
    caption = tables_of(tmp_path)["table1"].caption
    for part in ("epochs 3", "train size 1000", "translate 2 px", "REDUCED protocol"):
        assert part in caption


def test_relaxation_table_reads_omega_1_from_checkpoints(tmp_path):
    for seed, (w1, w2) in enumerate([(0.5, 2.0), (1.5, 4.0)]):
        omegas = {"features.0.omega_1": w1, "features.6.omega_1": w2}
        fake_run(tmp_path, "nsall", 1, seed, val=80, test=80, omega_1=omegas)
        fake_run(tmp_path, "lrlcall", 4, seed, val=85, test=85)
    out = tmp_path / "report"
    written = write_report(tmp_path, out, figures=False)
    assert out / "relaxation.csv" in written
    rows = list(csv.DictReader(io.StringIO((out / "relaxation.csv").read_text())))
    assert [int(r["layer"]) for r in rows] == [1, 3]
    assert float(rows[0]["omega_mean"]) == pytest.approx(1.0)
    assert float(rows[1]["omega_mean"]) == pytest.approx(3.0)
    assert rows[1]["lrlc_rank"] == "4"


def test_relaxation_table_prefers_the_value_recorded_in_result_json(tmp_path):
    for seed, w in enumerate([1.2, 1.8]):
        folder = fake_run(tmp_path, "ns3", 1, seed, val=80, test=80, omega_1={})
        (folder / "checkpoint.pt").unlink()  # a committed result without its checkpoint
        result = json.loads((folder / "result.json").read_text())
        result["learned_omega_1"] = {"3": w}
        (folder / "result.json").write_text(json.dumps(result))
    out = tmp_path / "report"
    write_report(tmp_path, out, figures=False)
    (row,) = list(csv.DictReader(io.StringIO((out / "relaxation.csv").read_text())))
    assert row["layer"] == "3" and float(row["omega_mean"]) == pytest.approx(1.5)


def test_latex_escapes_and_has_one_table_each(tmp_path):
    fake_run(tmp_path, "conv", 1, 0, val=80, test=80)
    fake_run(tmp_path, "lrlc3_id", 2, 0, val=80, test=81)
    tex = to_latex(tables_of(tmp_path).values())
    assert tex.count("\\begin{tabular}") == tex.count("\\end{table}") == 5
    assert "$\\pm$" in tex and "±" not in tex
    body = tex.replace("\\_", "").replace("\\%", "")
    assert "_" not in body.replace("tab:all-models", "") and "%" not in body


def test_a_torn_record_is_named_skipped_and_counted(tmp_path, capsys):
    fake_run(tmp_path, "conv", 1, 0, val=90.0, test=91.0)
    torn = fake_run(tmp_path, "conv", 1, 1, val=90.0, test=91.0) / "result.json"
    torn.write_text('{"config": {"model": "co')  # a crash mid-write
    write_report(tmp_path, tmp_path / "report", figures=False)
    assert str(torn) in capsys.readouterr().err
    text = (tmp_path / "report" / "report.md").read_text()
    assert "1 unreadable run record(s) left out" in text
    assert "| 1 |" in text  # the table has the one readable seed


def test_runs_of_one_model_with_different_layer_options_are_not_mixed(tmp_path):
    # Each model takes its own options (conv none, lrlc3 --init), so options are not part of
    # the shared setting; but two option sets for one model would pass as extra seeds.
    fake_run(tmp_path, "conv", 1, 0, val=90.0, test=91.0)
    fake_run(tmp_path, "lrlc3", 2, 0, val=92.0, test=93.0, layer_kwargs={"init": "random"})
    check_setting(load_runs(tmp_path))  # one option set per model: fine
    fake_run(tmp_path, "lrlc3", 2, 1, val=92.0, test=93.0)
    with pytest.raises(ReportError, match="different layer options.*lrlc3"):
        check_setting(load_runs(tmp_path))


def test_tables_keep_the_rows_the_grid_plans_and_drop_a_table_left_empty(tmp_path):
    # A grid of two Table 1 models, one without runs yet: Table 1 keeps both (the pending one
    # as a row of dashes); Tables 2-3, with no row the grid plans, are not written.
    grid = {"models": ["conv_sb3", "conv"], "ranks": [1], "seeds": [0]}
    (tmp_path / "sweep.json").write_text(json.dumps({"grid": grid, "runs_total": 2}))
    fake_run(tmp_path, "conv_sb3", 1, 0, val=80, test=80)
    out = tmp_path / "report"
    out.mkdir()
    (out / "table3.csv").write_text("left by an earlier report\n")
    written = {p.name for p in write_report(tmp_path, out, figures=False)}
    assert {"table1.csv", "all_models.csv"} <= written
    assert not {"table2.csv", "table3.csv"} & written
    assert not (out / "table3.csv").exists()  # a dropped table's old CSV is not left behind
    rows = list(csv.DictReader(io.StringIO((out / "table1.csv").read_text())))
    assert len(rows) == 2 and rows[0]["test_mean"] == "" and rows[1]["test_mean"] != ""
    assert "Table 2" not in (out / "report.md").read_text()


def test_without_a_known_grid_every_paper_row_stays(tmp_path):
    fake_run(tmp_path, "lrlc3", 2, 0, val=80, test=80)
    tables = tables_of(tmp_path)
    assert {"table1", "table2", "table3"} <= set(tables)
    assert len(tables["table2"].rows) == 6


def test_every_table_a_report_writes_is_one_the_writer_knows_to_remove(tmp_path):
    # A table added without its key in TABLE_KEYS would leave a stale CSV behind once dropped.
    from lrlc.experiments.report.tables import TABLE_KEYS

    for seed in (0, 1):
        fake_run(tmp_path, "conv", 1, seed, val=80, test=80)
        fake_run(tmp_path, "lrlc3", 2, seed, val=85, test=85)
        fake_run(tmp_path, "ns3", 1, seed, val=84, test=84, omega_1={"features.6.omega_1": 2.0})
    written = write_report(tmp_path, tmp_path / "report", figures=False)
    keys = {p.stem for p in written if p.suffix == ".csv"}
    assert {"table1", "all_models", "ranks", "relaxation", "claims"} <= keys
    assert keys <= set(TABLE_KEYS)

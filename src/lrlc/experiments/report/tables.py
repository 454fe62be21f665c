"""The report's tables: the paper's Tables 1-3, all models, every rank, and the relaxation
learned by the non-stationary layers, in the paper's row names and order. Every row shows its
training accuracy and flags (`fit.py`): below the training bar, rank at the top of the grid."""

from __future__ import annotations

from typing import Any

from ...layers.nonstationary import OMEGA_1_INIT
from ...models import paper_row
from .fit import flag_text, flags_note, model_flags, rank_flags
from .linked import key_uses_rank, row_label
from .paper import PAPER_TABLES, paper_note, paper_numbers
from .render import Table
from .results import ModelSummary, SweepSetting, learned_omega_1
from .stats import mean_se

# The key (CSV name) of every table a report can hold: those built here and the claims table
# (`claims.py`). The writer removes a listed table's old CSV when a report leaves it out.
TABLE_KEYS = (*PAPER_TABLES, "all_models", "ranks", "relaxation", "claims")


def _model_row(key: str, s: ModelSummary | None, paper: dict | None) -> dict[str, Any]:
    row: dict[str, Any] = {"label": row_label(key), "model": key}
    if s is not None:
        row.update(test=s.chosen.test, val=s.chosen.val, train=s.chosen.train)
        row.update(seeds=s.chosen.test.n, params=s.chosen.params)
        row["rank"] = s.chosen.rank if key_uses_rank(key) else None
        row["flags"] = flag_text(model_flags(s, key_uses_rank(key)))
    if paper is not None:
        row["paper_test"] = paper.get(row_label(key).upper())
    return row


def build_tables(
    summaries: dict[str, ModelSummary],
    setting: SweepSetting,
    linked: dict[str, ModelSummary] | None = None,
    linked_note: str = "",
) -> list[Table]:
    """Tables 1-3 in the paper's rows and order, every model, and every rank; rows of linked
    sweeps (`MODEL@label`, see `linked.py`) join the last two. Where the sweep's grid is known
    (`setting.models_planned`), Tables 1-3 keep only the rows it has runs of or plans (a
    planned row without runs yet shows dashes: it is pending), and a table left without rows
    is dropped: an ablation of one model is not a page of empty rows."""
    paper = paper_numbers(setting.paper_column)
    base = (
        f"Top-1 test accuracy (%), ours: mean ± SE over seeds (SE = sample std / sqrt(n); n/a for"
        f" one seed); rank (LRLC) and width factor (wide conv.) chosen on mean validation "
        f"accuracy.{flags_note()} {setting.caption()}"
    )
    paper_col = [] if paper is None else [("paper_test", "paper: test %")]
    short = [("label", "Layer"), ("test", "ours: test %"), ("train", "ours: train %")]
    short += [("rank", "ours: rank"), ("seeds", "ours: seeds"), ("flags", "flags")] + paper_col
    tables = []
    planned = setting.models_planned
    for key, (title, models) in PAPER_TABLES.items():
        kept = [m for m in models if planned is None or m in planned or m in summaries]
        rows = [_model_row(m, summaries.get(m), paper) for m in kept]
        if rows:
            tables.append(Table(key, title, base + paper_note(paper), short, rows))
    every = {**summaries, **(linked or {})}
    wide = [("label", "Layer"), ("model", "model"), ("train", "ours: train %")]
    wide += [("val", "ours: val %"), ("test", "ours: test %"), ("rank", "ours: rank")]
    wide += [("seeds", "ours: seeds"), ("params", "params"), ("flags", "flags")] + paper_col
    rows = [_model_row(m, s, paper) for m, s in every.items()]
    title = "All models (Table Supp.4 style)"
    cap = base + paper_note(paper) + linked_note
    tables.append(Table("all_models", title, cap, wide, rows))
    ranked = [
        {"label": row_label(m), "model": m, "rank": r.rank, "train": r.train, "val": r.val,
         "test": r.test, "seeds": r.test.n, "params": r.params,
         "chosen": "yes" if r is s.chosen else "", "flags": flag_text(rank_flags(r))}
        for m, s in every.items() if key_uses_rank(m) for r in s.by_rank.values()
    ]  # fmt: skip
    if ranked:
        cols = [("label", "Layer"), ("rank", "rank"), ("train", "ours: train %")]
        cols += [("val", "ours: val %"), ("test", "ours: test %"), ("seeds", "seeds")]
        cols += [("params", "params"), ("chosen", "chosen on val"), ("flags", "flags")]
        cap = f"Every rank / width factor, ours only.{flags_note(False)} {setting.caption()}"
        tables.append(Table("ranks", "Accuracy by rank", cap + linked_note, cols, ranked))
    return tables


def relaxation_table(summaries: dict[str, ModelSummary], setting: SweepSetting) -> Table | None:
    """Each NS model's learned omega_1 per layer beside LRLC's chosen rank at that placement."""
    rows = []
    for model in (m for m in summaries if m.startswith("ns")):
        ns, lrlc = summaries[model], summaries.get("lrlc" + model[2:])
        for depth, values in sorted(_omega_by_layer(ns).items()):
            row = {"label": paper_row(model), "layer": depth, "omega": mean_se(values)}
            row.update(seeds=len(values), ns_test=ns.chosen.test, ns_train=ns.chosen.train)
            flags = rank_flags(ns.chosen)
            if lrlc is not None:
                row.update(lrlc=paper_row(lrlc.model), lrlc_rank=lrlc.chosen.rank)
                row.update(lrlc_test=lrlc.chosen.test, lrlc_train=lrlc.chosen.train)
                flags += [f"LRLC {f}" for f in model_flags(lrlc, True)]
            rows.append(row | {"flags": flag_text(flags)})
    if not rows:
        return None
    cols = [("label", "Layer"), ("layer", "depth"), ("omega", "learned ω_1"), ("seeds", "seeds")]
    cols += [("ns_test", "NS: test %"), ("ns_train", "NS: train %")]
    cols += [("lrlc", "LRLC at same placement"), ("lrlc_rank", "LRLC rank (chosen on val)")]
    cols += [("lrlc_test", "LRLC: test %"), ("lrlc_train", "LRLC: train %"), ("flags", "flags")]
    starts = {
        run.config.layer_kwargs.get("omega_1", OMEGA_1_INIT)
        for m in summaries
        if m.startswith("ns")
        for run in summaries[m].chosen.runs
    }
    start = ", ".join(f"{w:g}" for w in sorted(starts))
    caption = (
        "Relaxation learned by the non-stationary layers (omega_1 = 0 is a convolution, larger "
        f"is further from it; every layer starts at omega_1 = {start}; mean ± SE over seeds, "
        "as recorded by each run) next to the relaxation LRLC chose by validation (its "
        f"rank).{flags_note()} {setting.caption()}"
    )
    return Table("relaxation", "Learned relaxation: NS omega_1 vs LRLC rank", caption, cols, rows)


def omega_notes(summaries: dict[str, ModelSummary]) -> dict[str, str]:
    """Per non-stationary model, its learned omega_1 (mean ± SE over seeds, per layer), for
    the claims that compare it."""
    notes = {}
    for model in (m for m in summaries if m.startswith("ns")):
        per_layer = _omega_by_layer(summaries[model])
        if per_layer:
            notes[model] = "learned ω_1 " + ", ".join(
                f"{mean_se(v).fmt()} (layer {d})" for d, v in sorted(per_layer.items())
            )
    return notes


def _omega_by_layer(s: ModelSummary) -> dict[int, list[float]]:
    """Depth -> the learned omega_1 of each seed at the model's chosen setting."""
    per_layer: dict[int, list[float]] = {}
    for run in s.chosen.runs:
        for depth, omega in learned_omega_1(run).items():
            per_layer.setdefault(depth, []).append(omega)
    return per_layer

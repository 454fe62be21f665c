"""The report's tables: the paper's Tables 1-3, all models, every rank, and the relaxation
learned by the non-stationary layers, in the paper's row names and order."""

from __future__ import annotations

from typing import Any

from ...layers.nonstationary import OMEGA_1_INIT
from ...models import paper_row, uses_rank
from .paper import PAPER_TABLES, paper_note, paper_numbers
from .render import Table
from .results import ModelSummary, SweepSetting, learned_omega_1
from .stats import mean_se


def _model_row(model: str, s: ModelSummary | None, paper: dict | None) -> dict[str, Any]:
    row: dict[str, Any] = {"label": paper_row(model), "model": model}
    if s is not None:
        row.update(test=s.chosen.test, val=s.chosen.val, train=s.chosen.train)
        row.update(seeds=s.chosen.test.n, params=s.chosen.params)
        row["rank"] = s.chosen.rank if uses_rank(model) else None
    if paper is not None:
        row["paper_test"] = paper.get(paper_row(model).upper())
    return row


def build_tables(summaries: dict[str, ModelSummary], setting: SweepSetting) -> list[Table]:
    """Tables 1-3 in the paper's rows and order, every model, and every rank."""
    paper = paper_numbers(setting.paper_column)
    base = (
        f"Top-1 test accuracy (%), ours: mean ± SE over seeds (SE = sample std / sqrt(n); n/a for"
        f" one seed); rank (LRLC) and width factor (wide conv.) chosen on mean validation "
        f"accuracy. {setting.caption()}"
    )
    paper_col = [] if paper is None else [("paper_test", "paper: test %")]
    short = [("label", "Layer"), ("test", "ours: test %"), ("rank", "ours: rank")]
    short += [("seeds", "ours: seeds")] + paper_col
    tables = []
    for key, (title, models) in PAPER_TABLES.items():
        rows = [_model_row(m, summaries.get(m), paper) for m in models]
        tables.append(Table(key, title, base + paper_note(paper), short, rows))
    wide = [("label", "Layer"), ("model", "model"), ("train", "ours: train %")]
    wide += [("val", "ours: val %"), ("test", "ours: test %"), ("rank", "ours: rank")]
    wide += [("seeds", "ours: seeds"), ("params", "params")] + paper_col
    rows = [_model_row(m, s, paper) for m, s in summaries.items()]
    title = "All models (Table Supp.4 style)"
    tables.append(Table("all_models", title, base + paper_note(paper), wide, rows))
    ranked = [
        {"label": paper_row(m), "model": m, "rank": r.rank, "val": r.val, "test": r.test,
         "seeds": r.test.n, "params": r.params, "chosen": "yes" if r is s.chosen else ""}
        for m, s in summaries.items() if uses_rank(m) for r in s.by_rank.values()
    ]  # fmt: skip
    if ranked:
        cols = [("label", "Layer"), ("rank", "rank"), ("val", "ours: val %")]
        cols += [("test", "ours: test %"), ("seeds", "seeds"), ("params", "params")]
        cols += [("chosen", "chosen on val")]
        cap = f"Every rank / width factor, ours only. {setting.caption()}"
        tables.append(Table("ranks", "Accuracy by rank", cap, cols, ranked))
    return tables


def relaxation_table(summaries: dict[str, ModelSummary], setting: SweepSetting) -> Table | None:
    """Each NS model's learned omega_1 per layer beside LRLC's chosen rank at that placement."""
    rows = []
    for model in (m for m in summaries if m.startswith("ns")):
        ns, lrlc = summaries[model], summaries.get("lrlc" + model[2:])
        per_layer: dict[int, list[float]] = {}
        for run in ns.chosen.runs:
            for depth, omega in learned_omega_1(run).items():
                per_layer.setdefault(depth, []).append(omega)
        for depth, values in sorted(per_layer.items()):
            row = {"label": paper_row(model), "layer": depth, "omega": mean_se(values)}
            row.update(seeds=len(values), ns_test=ns.chosen.test)
            if lrlc is not None:
                row.update(lrlc=paper_row(lrlc.model), lrlc_rank=lrlc.chosen.rank)
                row.update(lrlc_test=lrlc.chosen.test)
            rows.append(row)
    if not rows:
        return None
    cols = [("label", "Layer"), ("layer", "depth"), ("omega", "learned ω_1"), ("seeds", "seeds")]
    cols += [("ns_test", "NS: test %"), ("lrlc", "LRLC at same placement")]
    cols += [("lrlc_rank", "LRLC rank (chosen on val)"), ("lrlc_test", "LRLC: test %")]
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
        f"rank). {setting.caption()}"
    )
    return Table("relaxation", "Learned relaxation: NS omega_1 vs LRLC rank", caption, cols, rows)

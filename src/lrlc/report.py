"""Tables of a sweep's results in the paper's rows, beside the paper's numbers.

Statistics follow the paper: test accuracy as mean +- standard error over seeds (SE = sample
standard deviation, ddof=1, / sqrt(n)); for models with a rank (LRLC rank, wide-conv width
factor) the rank with the best MEAN VALIDATION accuracy is chosen and its test accuracy
reported. The paper's numbers (package data `resources/paper-results.csv`) sit in their own
columns and are never averaged with ours. Runs of different protocols are never mixed.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .checkpoint import load_checkpoint
from .claims import claims_table
from .config import TrainConfig, recorded_precision
from .layers.nonstationary import OMEGA_1_INIT
from .models import model_names, paper_row, uses_rank
from .sweep import iter_results
from .tables import Stat, Table, mean_se, to_csv, to_latex, to_markdown
from .train import CHECKPOINT

# Our dataset name -> the paper's column.
PAPER_DATASETS = {"mnist": "mnist", "cifar10": "cifar10", "celeba32": "celeba"}
# Config fields that do not change what a run computes or that a table varies.
_NOT_SETTING = ("model", "rank", "seed", "eval_batch_size")
_TABLE1 = ["conv", "conv_sb1", "conv_sb2", "conv_sb3", "conv_sball", "lrlc1", "lrlc2", "lrlc3"]
PAPER_TABLES: dict[str, tuple[str, list[str]]] = {
    "table1": ("Table 1: convolution vs conv. + spatial bias vs LRLC", _TABLE1 + ["lrlcall"]),
    "table2": ("Table 2: LRLC vs baselines", ["lrlc3", "coordconv", "lc1", "lc2", "lc3", "wide3"]),
    "table3": ("Table 3: fixed vs input-dependent combining weights", ["lrlc3_id", "lrlc3"]),
}


class ReportError(ValueError):
    """The runs cannot be put in one table (none found, or different protocols)."""


@dataclass
class Run:
    """One finished run, as read from its result.json."""

    folder: Path
    config: TrainConfig
    result: dict[str, Any]

    def acc(self, split: str) -> float:
        return float(self.result["metrics"][f"{split}_acc"])

    @property
    def precision(self) -> str:
        """The precision it trained in: 'fp32' or 'bf16'."""
        return recorded_precision(self.result)


@dataclass
class RankStats:
    """Accuracy over the seeds of one (model, rank)."""

    rank: int
    train: Stat
    val: Stat
    test: Stat
    params: int
    runs: list[Run] = field(repr=False)


@dataclass
class ModelSummary:
    """A model's row: stats at its validation-chosen rank, and every rank's stats."""

    model: str
    chosen: RankStats
    by_rank: dict[int, RankStats]


@dataclass(frozen=True)
class Setting:
    """What every run of a table shares: dataset and protocol."""

    dataset: str
    translate: int
    protocol: str
    reduced: bool
    config: dict[str, Any]
    data_sizes: dict[str, int]
    precisions: dict[str, int] = field(default_factory=dict)  # trained precision -> runs
    skipped: int = 0  # unreadable result.json files left out

    @property
    def paper_column(self) -> str | None:
        return PAPER_DATASETS.get(self.dataset) if self.translate == 0 else None

    @property
    def name(self) -> str:
        return self.dataset + (f" translated ±{self.translate} px" if self.translate else "")

    def caption(self) -> str:
        c, sizes = self.config, self.data_sizes
        data = "/".join(str(sizes.get(k, "?")) for k in ("train", "val", "test"))
        facts = [f"epochs {c['epochs']}", f"batch {c['batch_size']}"]
        facts += [f"train size {sizes.get('train', c['train_size'])}"]
        facts += [f"translate {self.translate} px"]
        facts += [f"width {c['width']} (the paper: 64)"] if c["width"] != 64 else []
        facts += [self.precision_text()]
        facts += [f"layer options {c['layer_kwargs']}"] if c["layer_kwargs"] else []
        text = (
            f"Dataset {self.name} (train/val/test: {data} images). Protocol: {self.protocol} "
            f"({', '.join(facts)})."
        )
        if self.reduced:
            text += " REDUCED protocol: not the paper's full training, so not directly comparable."
        if self.skipped:
            text += f" {self.skipped} unreadable run record(s) left out."
        return text

    def precision_text(self) -> str:
        if len(self.precisions) > 1:
            counts = ", ".join(f"{p}: {n} runs" for p, n in sorted(self.precisions.items()))
            return f"MIXED precision ({counts}): rows may compare runs of different precisions"
        precision = next(iter(self.precisions), "fp32")
        return "bf16 autocast" if precision == "bf16" else "float32"


def load_runs(sweep_dir: str | Path, skipped: list[Path] | None = None) -> list[Run]:
    """Every finished run under `sweep_dir`/runs/; unreadable records are warned about and
    appended to `skipped`."""
    results = iter_results(sweep_dir, skipped)
    runs = [Run(d, TrainConfig.from_dict(r["config"]), r) for d, r in results]
    if not runs:
        raise ReportError(f"no finished runs (runs/*/result.json) under {sweep_dir}")
    return runs


def check_setting(runs: Sequence[Run], allow_mixed_precision: bool = False) -> Setting:
    """The one setting all runs share; ReportError naming the groups if they differ.

    Runs that asked for the same precision may still have trained in different ones (`auto`
    on machines with and without native bf16): such a sweep is refused unless
    `allow_mixed_precision`, and then every caption says so.
    """
    groups: dict[str, list[Run]] = {}
    for run in runs:
        shared = {k: v for k, v in run.config.to_dict().items() if k not in _NOT_SETTING}
        shared["data_fingerprint"] = run.result.get("data_fingerprint")
        groups.setdefault(json.dumps(shared, sort_keys=True, default=str), []).append(run)
    if len(groups) > 1:
        desc = "; ".join(
            f"{len(g)} runs with protocol '{g[0].result['protocol']}' on {g[0].config.dataset} "
            f"(e.g. {g[0].folder})"
            for g in groups.values()
        )
        raise ReportError(
            f"refusing to mix runs of different protocols or data in one table: {desc}. "
            "Report each protocol from its own sweep folder."
        )
    precisions: dict[str, list[Run]] = {}
    for run in runs:
        precisions.setdefault(run.precision, []).append(run)
    if len(precisions) > 1 and not allow_mixed_precision:
        desc = "; ".join(
            f"{len(g)} runs in {p} (e.g. {g[0].folder})" for p, g in precisions.items()
        )
        raise ReportError(
            f"refusing to compare runs trained in different precisions: {desc}. This happens "
            "when a sweep with --precision auto resumes on a machine of another kind. Rerun the "
            "odd runs with an explicit --precision in another folder, or pass "
            "--allow-mixed-precision to report them together, flagged in every caption."
        )
    first = runs[0]
    return Setting(
        dataset=first.config.dataset,
        translate=first.config.translate,
        protocol=first.result["protocol"],
        reduced=bool(first.result["reduced_protocol"]),
        config=first.config.to_dict(),
        data_sizes=first.result.get("data_sizes", {}),
        precisions={p: len(g) for p, g in sorted(precisions.items())},
    )


def summarize(runs: Iterable[Run]) -> dict[str, ModelSummary]:
    """Per model: stats per rank, and the rank chosen on mean validation accuracy."""
    grouped: dict[str, dict[int, list[Run]]] = {}
    for run in runs:
        rank = run.config.rank if uses_rank(run.config.model) else 1
        grouped.setdefault(run.config.model, {}).setdefault(rank, []).append(run)
    out = {}
    for model in sorted(grouped, key=model_names().index):
        by_rank = {}
        for rank, rs in sorted(grouped[model].items()):
            stats = {s: mean_se([r.acc(s) for r in rs]) for s in ("train", "val", "test")}
            params = round(sum(r.result["params"] for r in rs) / len(rs))
            by_rank[rank] = RankStats(rank, runs=rs, params=params, **stats)
        # Ties go to the lower rank: the smaller departure from convolution.
        chosen = max(by_rank.values(), key=lambda s: (s.val.mean, -s.rank))
        out[model] = ModelSummary(model, chosen, by_rank)
    return out


def paper_numbers(setting: Setting, split: str = "test") -> dict[str, Stat] | None:
    """The paper's mean +- SE per row label for this dataset, or None if not in the paper."""
    column = setting.paper_column
    if column is None:
        return None
    text = resources.files("lrlc").joinpath("resources/paper-results.csv").read_text()
    return {
        row["model"].upper(): Stat(float(row[column]), float(row[f"{column}_se"]), 10)
        for row in csv.DictReader(io.StringIO(text))
        if row["split"] == split
    }


def _paper_note(paper: dict[str, Stat] | None) -> str:
    if paper is None:
        return " No paper numbers (dataset not in the paper)."
    return (
        " 'paper' columns: Elsayed et al. 2020 (Table Supp.4, test, full protocol, 10 seeds), "
        "copied, not recomputed."
    )


def _model_row(model: str, s: ModelSummary | None, paper: dict | None) -> dict[str, Any]:
    row: dict[str, Any] = {"label": paper_row(model), "model": model}
    if s is not None:
        row.update(test=s.chosen.test, val=s.chosen.val, train=s.chosen.train)
        row.update(seeds=s.chosen.test.n, params=s.chosen.params)
        row["rank"] = s.chosen.rank if uses_rank(model) else None
    if paper is not None:
        row["paper_test"] = paper.get(paper_row(model).upper())
    return row


def build_tables(summaries: dict[str, ModelSummary], setting: Setting) -> list[Table]:
    """Tables 1-3 in the paper's rows and order, every model, and every rank."""
    paper = paper_numbers(setting)
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
        tables.append(Table(key, title, base + _paper_note(paper), short, rows))
    wide = [("label", "Layer"), ("model", "model"), ("train", "ours: train %")]
    wide += [("val", "ours: val %"), ("test", "ours: test %"), ("rank", "ours: rank")]
    wide += [("seeds", "ours: seeds"), ("params", "params")] + paper_col
    rows = [_model_row(m, s, paper) for m, s in summaries.items()]
    title = "All models (Table Supp.4 style)"
    tables.append(Table("all_models", title, base + _paper_note(paper), wide, rows))
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


def learned_omega_1(run: Run) -> dict[int, float]:
    """Depth (1-based) -> learned omega_1 of each non-stationary layer: from result.json, or
    for runs that predate that record, from the run's checkpoint.pt."""
    if "learned_omega_1" in run.result:
        return {int(d): float(w) for d, w in run.result["learned_omega_1"].items()}
    path = Path(run.folder) / CHECKPOINT
    if not path.exists():
        return {}
    out = {}
    for key, value in load_checkpoint(path)["model"].items():
        if key.endswith("omega_1"):
            # SimpleNet.features is [layer, BatchNorm, ReLU] per depth: features.{3(d-1)}.
            out[int(key.split(".")[1]) // 3 + 1] = float(value)
    return out


def relaxation_table(summaries: dict[str, ModelSummary], setting: Setting) -> Table | None:
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
    start = setting.config["layer_kwargs"].get("omega_1", OMEGA_1_INIT)
    caption = (
        "Relaxation learned by the non-stationary layers (omega_1 = 0 is a convolution, larger "
        f"is further from it; every layer starts at omega_1 = {start:g}; mean ± SE over seeds, "
        "as recorded by each run) next to the relaxation LRLC chose by validation (its "
        f"rank). {setting.caption()}"
    )
    return Table("relaxation", "Learned relaxation: NS omega_1 vs LRLC rank", caption, cols, rows)


# --- renderers --------------------------------------------------------------------------------


def summary_markdown(sweep_dir: str | Path, allow_mixed_precision: bool = False) -> str:
    """The all-models table of one sweep as Markdown, for printing after a run."""
    runs = load_runs(sweep_dir, skipped=[])
    tables = build_tables(summarize(runs), check_setting(runs, allow_mixed_precision))
    return to_markdown([t for t in tables if t.key == "all_models"])


def write_report(
    sweep_dir: str | Path,
    out_dir: str | Path | None = None,
    formats: Sequence[str] = ("md", "tex", "csv"),
    figures: bool = True,
    allow_mixed_precision: bool = False,
) -> list[Path]:
    """Tables (and figures) of one sweep folder into `out_dir` (default sweep_dir/report)."""
    unknown = set(formats) - {"md", "tex", "csv"}
    if unknown:
        raise ValueError(f"unknown report formats {sorted(unknown)}; use md, tex, csv")
    skipped: list[Path] = []
    runs = load_runs(sweep_dir, skipped)
    setting = check_setting(runs, allow_mixed_precision)
    setting = dataclasses.replace(setting, skipped=len(skipped))
    summaries = summarize(runs)
    tables = build_tables(summaries, setting)
    relax = relaxation_table(summaries, setting)
    tables += [relax] if relax is not None else []
    claims = claims_table(
        {m: s.chosen.test for m, s in summaries.items()},
        translated=setting.translate > 0,
        caption=setting.caption(),
        paper=paper_numbers(setting),
    )
    tables += [claims] if claims is not None else []
    out = Path(out_dir) if out_dir is not None else Path(sweep_dir) / "report"
    out.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str] = {}
    if "md" in formats:
        texts["report.md"] = to_markdown(tables, f"Results: {setting.name}")
    texts.update({"report.tex": to_latex(tables)} if "tex" in formats else {})
    texts.update({f"{t.key}.csv": to_csv(t) for t in tables} if "csv" in formats else {})
    written = [out / name for name in texts]
    for path, text in zip(written, texts.values()):
        path.write_text(text)
    if figures:
        from .figures import write_figures

        written += write_figures(summaries, setting, out)
    return written

"""The results data model: finished runs read from a sweep folder, the setting they share,
and per-model summaries at the rank chosen on validation.

Statistics follow the paper: test accuracy as mean +- standard error over seeds (SE = sample
standard deviation, ddof=1, / sqrt(n)); for models with a rank (LRLC rank, wide-conv width
factor) the rank with the best MEAN VALIDATION accuracy is chosen and its test accuracy
reported. Runs of different protocols (or trained precisions) are never mixed silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...data import Canvas, parse_canvas
from ...models import depth_of, model_names, uses_rank
from ..config import TrainConfig, recorded_precision
from ..files import load_checkpoint
from ..records import CHECKPOINT, SWEEP_JSON, iter_results
from .paper import PAPER_DATASETS
from .stats import Stat, mean_se

# Config fields that do not change what a run computes or that a table varies.
# Layer options differ between the models of one sweep (each takes its own): the caption lists
# them all.
_NOT_SETTING = ("model", "rank", "seed", "eval_batch_size", "layer_kwargs")


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
class SweepSetting:
    """What every run of a table shares: dataset and protocol."""

    dataset: str
    translate: int
    protocol: str
    reduced: bool
    config: dict[str, Any]
    data_sizes: dict[str, int]
    precisions: dict[str, int] = field(default_factory=dict)  # trained precision -> runs
    layer_options: dict[str, Any] = field(default_factory=dict)  # over every model's runs
    skipped: int = 0  # unreadable result.json files left out
    runs_done: int | None = None  # finished runs in the table (None: not counted)
    runs_planned: int | None = None  # the sweep's grid size, from sweep.json (None: unknown)
    models_planned: frozenset[str] | None = None  # the grid's models (None: unknown)
    note: str = ""  # what the caller adds to every caption (e.g. what a preset trimmed)

    @property
    def canvas(self) -> Canvas | None:
        return parse_canvas(self.config.get("canvas"))

    @property
    def unaligned(self) -> bool:
        """Whether images sit at different places: translated, or at random on a canvas."""
        return self.translate > 0 or (self.canvas is not None and not self.canvas.aligned)

    @property
    def paper_column(self) -> str | None:
        plain = self.translate == 0 and self.canvas is None
        return PAPER_DATASETS.get(self.dataset) if plain else None

    @property
    def name(self) -> str:
        name = self.dataset + (f" translated ±{self.translate} px" if self.translate else "")
        canvas = self.canvas
        if canvas is not None:
            where = "centred" if canvas.aligned else "at random positions"
            name += f", {where} on a {canvas.size}x{canvas.size} canvas"
        return name

    def caption(self) -> str:
        c, sizes = self.config, self.data_sizes
        data = "/".join(str(sizes.get(k, "?")) for k in ("train", "val", "test"))
        facts = [f"epochs {c['epochs']}", f"batch {c['batch_size']}"]
        facts += [f"train size {sizes.get('train', c['train_size'])}"]
        facts += [f"translate {self.translate} px"]
        facts += [f"canvas {self.canvas.describe()}"] if self.canvas is not None else []
        facts += [f"width {c['width']} (the paper: 64)"] if c["width"] != 64 else []
        facts += [self.precision_text()]
        facts += [f"layer options {self.layer_options}"] if self.layer_options else []
        text = (
            f"Dataset {self.name} (train/val/test: {data} images). Protocol: {self.protocol} "
            f"({', '.join(facts)})."
        )
        if self.reduced:
            text += " REDUCED protocol: not the paper's full training, so not directly comparable."
        if self.skipped:
            text += f" {self.skipped} unreadable run record(s) left out."
        return text + self.runs_text() + (f" {self.note}" if self.note else "")

    def runs_text(self) -> str:
        """How many of the planned runs the table holds, when the sweep says how many."""
        if self.runs_planned is None or self.runs_done is None:
            return ""
        if self.runs_done >= self.runs_planned:
            return f" Runs: all {self.runs_planned} planned."
        return (
            f" PARTIAL: {self.runs_done} of {self.runs_planned} planned runs finished; rows may "
            "have fewer seeds or ranks than planned."
        )

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


def planned_runs(sweep_dir: str | Path) -> int | None:
    """The number of runs of the sweep's grid (sweep.json's runs_total), or None if unknown."""
    try:
        total = json.loads((Path(sweep_dir) / SWEEP_JSON).read_text()).get("runs_total")
    except (OSError, ValueError, AttributeError):
        return None
    return total if isinstance(total, int) else None


def planned_models(sweep_dir: str | Path) -> frozenset[str] | None:
    """The models of the sweep's grid (sweep.json), or None if unknown."""
    try:
        models = json.loads((Path(sweep_dir) / SWEEP_JSON).read_text())["grid"]["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        return None
    return frozenset(models)


def check_setting(runs: Sequence[Run], allow_mixed_precision: bool = False) -> SweepSetting:
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
    options: dict[str, set[str]] = {}
    for run in runs:  # each model takes its own layer options, but one set per model
        options.setdefault(run.config.model, set()).add(json.dumps(run.config.layer_kwargs))
    mixed = {m: sorted(o) for m, o in options.items() if len(o) > 1}
    if mixed:
        raise ReportError(
            f"refusing to mix runs of one model with different layer options: {mixed}. "
            "Report each set of options from its own sweep folder."
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
    return SweepSetting(
        dataset=first.config.dataset,
        translate=first.config.translate,
        protocol=first.result["protocol"],
        reduced=bool(first.result["reduced_protocol"]),
        config=first.config.to_dict(),
        data_sizes=first.result.get("data_sizes", {}),
        precisions={p: len(g) for p, g in sorted(precisions.items())},
        layer_options={k: v for r in runs for k, v in sorted(r.config.layer_kwargs.items())},
        runs_done=len(runs),
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
        depth = depth_of(key)
        if key.endswith("omega_1") and depth is not None:
            out[depth] = float(value)
    return out

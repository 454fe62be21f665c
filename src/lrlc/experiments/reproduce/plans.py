"""What a named reproduction is: sweeps (a dataset with a model grid each), in order.

A sweep whose rows belong in another sweep's report (an ablation of the same models with other
layer options, or the same models on other data) names that sweep in `link_to` and the label
its rows get there (`lrlc.experiments.report.linked`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import TrainConfig
from ..sweep import SweepGrid


@dataclass(frozen=True)
class SweepPlan:
    """One sweep of a preset: a dataset (and its translation or canvas) with a model grid."""

    name: str  # the sweep's folder and report name
    dataset: str
    models: tuple[str, ...]
    ranks: tuple[int, ...]
    seeds: tuple[int, ...]
    settings: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides
    model_ranks: dict[str, tuple[int, ...]] = field(default_factory=dict)  # instead of ranks
    link_to: str | None = None  # the sweep whose report shows this one's rows too
    label: str = ""  # the label of those rows there, e.g. "init random"
    # Fields of the linked report's shared protocol in which this sweep may differ (e.g. the
    # canvas pair's epochs); see lrlc.experiments.report.linked.
    link_protocol: tuple[str, ...] = ()
    note: str = ""  # added to every caption of its report (e.g. what was trimmed, and why)

    def grid(self, precision: str | None = None) -> SweepGrid:
        """The grid; `precision` (default: the settings', else auto) for every run."""
        overrides = dict(self.settings)
        if precision is not None:
            overrides["precision"] = precision
        base = TrainConfig.from_preset(
            "paper", dataset=self.dataset, model=self.models[0], **overrides
        )
        ranks = {m: list(r) for m, r in self.model_ranks.items()}
        return SweepGrid(base, list(self.models), list(self.ranks), list(self.seeds), ranks)

    def n_runs(self) -> int:
        return len(self.grid().configs())


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    sweeps: tuple[SweepPlan, ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.sweeps]
        for plan in self.sweeps:
            if plan.link_to is not None and (plan.link_to not in names or not plan.label):
                raise ValueError(
                    f"sweep {plan.name} of preset {self.name} links to {plan.link_to!r}, which "
                    "is not one of its sweeps, or has no label"
                )

    def n_runs(self) -> int:
        return sum(s.n_runs() for s in self.sweeps)

    def links(self, sweep: str) -> list[SweepPlan]:
        """The sweeps whose rows join `sweep`'s report."""
        return [s for s in self.sweeps if s.link_to == sweep]

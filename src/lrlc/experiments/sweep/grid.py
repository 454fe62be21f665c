"""A sweep's grid: models x ranks x seeds on one base configuration, one folder per run."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...data import Dataset
from ...models import layer_kinds, model_names, paper_model_names, uses_rank
from ...models.kinds import check_options, options_for
from ..config import TrainConfig
from ..records import RUNS, finished_result
from ..run import load_run_data

# Fields a grid varies; every other TrainConfig field is shared by all runs of a sweep.
GRID_FIELDS = ("model", "rank", "seed")

DataLoader = Callable[[TrainConfig], Dataset]


def parse_int_list(text: str) -> list[int]:
    """'0-9' -> [0..9], '0,2,5' -> [0, 2, 5], '0-2,7' -> [0, 1, 2, 7] (duplicates dropped)."""
    values: list[int] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            chunk = range(int(lo), int(hi) + 1) if sep else [int(part)]
        except ValueError:
            raise ValueError(f"not a number or range: {part!r} (in {text!r})") from None
        if sep and int(hi) < int(lo):
            raise ValueError(f"empty range {part!r}: write low-high, e.g. 0-9")
        values += [v for v in chunk if v not in values]
    if not values:
        raise ValueError(f"no values in {text!r}")
    return values


def parse_models(text: str) -> list[str]:
    """Comma-separated model names; 'all' = every model of the paper's nets (the
    non-stationary ones too), 'paper' = the paper's own models; other families (ResNets) by
    name."""
    names: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part == "all":
            chosen = paper_model_names()
        elif part == "paper":
            chosen = [m for m in paper_model_names() if not m.startswith("ns")]
        elif part in model_names():
            chosen = [part]
        else:
            raise ValueError(f"unknown model {part!r}; known: {', '.join(model_names())}")
        names += [m for m in chosen if m not in names]
    if not names:
        raise ValueError("no models given")
    return names


@dataclass
class SweepGrid:
    """Every combination of models x ranks x seeds on one shared base configuration.

    Ranks apply only to models where `uses_rank(model)`; the others run once per seed.
    `model_ranks` gives some models their own ranks instead (e.g. fewer of the costly wide
    ranks). Layer options of the base apply to the models whose layers take them.
    """

    base: TrainConfig
    models: list[str]
    ranks: list[int]
    seeds: list[int]
    model_ranks: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    def ranks_of(self, model: str) -> list[int]:
        """The ranks `model` runs at: [1] for a model without a rank."""
        if not uses_rank(model):
            return [1]
        return list(self.model_ranks.get(model, self.ranks))

    def configs(self) -> list[TrainConfig]:
        # Seeds outermost: a sweep stopped early still has every model at the first seeds,
        # which is a usable (if noisier) comparison, rather than all seeds of a few models.
        out = []
        for seed in self.seeds:
            for model in self.models:
                options = options_for(layer_kinds(model), self.base.layer_kwargs)
                for rank in self.ranks_of(model):
                    out.append(
                        dataclasses.replace(
                            self.base, model=model, rank=rank, seed=seed, layer_kwargs=options
                        )
                    )
        return out

    def check(self) -> None:
        """A ValueError for a rank below 1 (checked even where no model of the grid takes a
        rank: `--ranks 0` is a mistake whatever it would reach), or a layer option that no
        model of the grid takes (each option reaches only the models whose layers take it)."""
        for name, ranks in [("--ranks", self.ranks)] + list(self.model_ranks.items()):
            bad = [r for r in ranks if r < 1]
            if bad:
                raise ValueError(
                    f"ranks must be >= 1, got {', '.join(map(str, bad))} in {name}; "
                    "a rank is the number of basis filter banks K"
                )
        kinds = [k for m in self.models for k in layer_kinds(m)]
        check_options(kinds, self.base.layer_kwargs, "+".join(self.models))
        stray = sorted(set(self.model_ranks) - set(self.models))
        if stray:
            raise ValueError(f"ranks given for models not in the grid: {', '.join(stray)}")

    def to_dict(self) -> dict[str, Any]:
        shared = {k: v for k, v in self.base.to_dict().items() if k not in GRID_FIELDS}
        out = {"base": shared, "models": self.models, "ranks": self.ranks, "seeds": self.seeds}
        return out | ({"model_ranks": self.model_ranks} if self.model_ranks else {})


@dataclass(frozen=True)
class Job:
    """One configuration and the folder it trains in."""

    config: TrainConfig
    run_dir: Path


def run_dir(sweep_dir: str | Path, config: TrainConfig) -> Path:
    """The folder of one run inside a sweep folder."""
    return Path(sweep_dir) / RUNS / config.run_id()


def is_complete(folder: Path, config: TrainConfig) -> bool:
    """True if `folder` holds the finished result of exactly this configuration."""
    return finished_result(folder, config) is not None


@dataclass
class DatasetLoader:
    """A picklable loader (worker processes and Ray tasks need one)."""

    data_dir: str | None = None

    def __call__(self, config: TrainConfig) -> Dataset:
        return load_run_data(config, self.data_dir)

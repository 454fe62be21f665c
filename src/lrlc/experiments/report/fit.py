"""Flags on table rows: a model that did not fit its training set, and a rank that validation
chose at the edge of the grid (so the grid may be too narrow to contain the best rank).

The paper's models all reach 100% training accuracy on MNIST (its Table Supp.2); a comparison
of models that have not fitted measures how fast they learn, not where they converge. The bar
is the one issue 17 set for MNIST; on other data it marks the rows that fit less well.
"""

from __future__ import annotations

from .results import ModelSummary, RankStats
from .stats import Stat

TRAIN_BAR = 99.0  # training accuracy (%) a converged row should reach
BELOW_BAR = f"train < {TRAIN_BAR:g}%"
TOP_OF_GRID = "rank = largest run"


def below_bar(train: Stat | None) -> bool:
    """Whether a row's mean training accuracy is under the bar."""
    return train is not None and train.mean < TRAIN_BAR


def rank_flags(stats: RankStats) -> list[str]:
    return [BELOW_BAR] if below_bar(stats.train) else []


def model_flags(s: ModelSummary, ranked: bool) -> list[str]:
    """Flags of a model's row: below the training bar; for a model with a rank grid of more
    than one value, validation choosing the largest rank that was run."""
    flags = rank_flags(s.chosen)
    if ranked and len(s.by_rank) > 1 and s.chosen.rank == max(s.by_rank):
        flags.append(TOP_OF_GRID)
    return flags


def flag_text(flags: list[str]) -> str:
    return "; ".join(flags)


def flags_note(ranked: bool = True) -> str:
    """The caption sentence that explains the flags column."""
    text = (
        f" 'train %': accuracy on the training split at the end of training. Flag "
        f"'{BELOW_BAR}': below the {TRAIN_BAR:g}% bar of a converged run (all of the paper's "
        "MNIST models reach 100%), so the row compares learning speed more than converged "
        "accuracy."
    )
    if ranked:
        text += (
            f" Flag '{TOP_OF_GRID}': validation chose the largest rank (width factor) that was "
            "run, so a larger one might be better still."
        )
    return text

"""The paper's own numbers (package data `resources/paper-results.csv`), its datasets and
tables. They sit in their own columns and are never averaged with ours."""

from __future__ import annotations

import csv
import io
from importlib import resources

from .stats import Stat

# Our dataset name -> the paper's column.
PAPER_DATASETS = {"mnist": "mnist", "cifar10": "cifar10", "celeba32": "celeba"}
_TABLE1 = ["conv", "conv_sb1", "conv_sb2", "conv_sb3", "conv_sball", "lrlc1", "lrlc2", "lrlc3"]
PAPER_TABLES: dict[str, tuple[str, list[str]]] = {
    "table1": ("Table 1: convolution vs conv. + spatial bias vs LRLC", _TABLE1 + ["lrlcall"]),
    "table2": ("Table 2: LRLC vs baselines", ["lrlc3", "coordconv", "lc1", "lc2", "lc3", "wide3"]),
    "table3": ("Table 3: fixed vs input-dependent combining weights", ["lrlc3_id", "lrlc3"]),
}


def paper_numbers(column: str | None, split: str = "test") -> dict[str, Stat] | None:
    """The paper's mean +- SE per row label in one of its columns (None: not in the paper)."""
    if column is None:
        return None
    text = resources.files("lrlc").joinpath("resources/paper-results.csv").read_text()
    return {
        row["model"].upper(): Stat(float(row[column]), float(row[f"{column}_se"]), 10)
        for row in csv.DictReader(io.StringIO(text))
        if row["split"] == split
    }


def paper_note(paper: dict[str, Stat] | None) -> str:
    if paper is None:
        return " No paper numbers (dataset not in the paper)."
    return (
        " 'paper' columns: Elsayed et al. 2020 (Table Supp.4, test, full protocol, 10 seeds), "
        "copied, not recomputed."
    )

"""Reports of sweeps: the results data model, statistics, the paper's numbers, tables,
claims, figures, and the writer behind `lrlc report`."""

from .claims import CLAIMS, Claim, claims_table, difference, verdict
from .fit import TRAIN_BAR
from .linked import Linked, row_key, row_label
from .paper import PAPER_DATASETS, PAPER_TABLES, paper_numbers
from .render import Table, to_csv, to_latex, to_markdown
from .results import (
    ModelSummary,
    RankStats,
    ReportError,
    Run,
    SweepSetting,
    check_setting,
    learned_omega_1,
    load_runs,
    summarize,
)
from .stats import Stat, mean_se
from .tables import build_tables, relaxation_table
from .writer import summary_markdown, write_report

Setting = SweepSetting  # its name before 0.2

__all__ = [
    "CLAIMS",
    "PAPER_DATASETS",
    "PAPER_TABLES",
    "Claim",
    "ModelSummary",
    "RankStats",
    "ReportError",
    "Run",
    "SweepSetting",
    "Setting",
    "Stat",
    "TRAIN_BAR",
    "Linked",
    "Table",
    "build_tables",
    "check_setting",
    "claims_table",
    "difference",
    "learned_omega_1",
    "load_runs",
    "mean_se",
    "paper_numbers",
    "relaxation_table",
    "row_key",
    "row_label",
    "summarize",
    "summary_markdown",
    "to_csv",
    "to_latex",
    "to_markdown",
    "verdict",
    "write_report",
]

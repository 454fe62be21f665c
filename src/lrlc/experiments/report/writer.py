"""`lrlc report`: one sweep folder's tables (md, tex, csv) and figures (png)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from .claims import claims_table
from .figures import write_figures
from .linked import Linked, linked_caption, linked_summaries
from .linked_figures import write_linked_figures
from .paper import paper_numbers
from .render import to_csv, to_latex, to_markdown
from .results import check_setting, load_runs, planned_models, planned_runs, summarize
from .tables import TABLE_KEYS, build_tables, omega_notes, relaxation_table


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
    linked: Sequence[Linked] = (),
    note: str = "",
) -> list[Path]:
    """Tables (and figures) of one sweep folder into `out_dir` (default sweep_dir/report).

    `linked`: other sweep folders (ablations, the canvas pair) whose models join the tables
    and claims as rows `MODEL@label`; folders without finished runs yet are left out.
    `note`: a sentence added to every caption (e.g. what a preset trimmed to fit its budget).
    """
    unknown = set(formats) - {"md", "tex", "csv"}
    if unknown:
        raise ValueError(f"unknown report formats {sorted(unknown)}; use md, tex, csv")
    skipped: list[Path] = []
    runs = load_runs(sweep_dir, skipped)
    setting = check_setting(runs, allow_mixed_precision)
    setting = dataclasses.replace(
        setting,
        skipped=len(skipped),
        runs_planned=planned_runs(sweep_dir),
        models_planned=planned_models(sweep_dir),
        note=note,
    )
    summaries = summarize(runs)
    extra, linked_settings = linked_summaries(linked, setting, allow_mixed_precision)
    tables = build_tables(summaries, setting, extra, linked_caption(linked_settings, setting))
    relax = relaxation_table(summaries, setting)
    tables += [relax] if relax is not None else []
    every = {**summaries, **extra}
    claims = claims_table(
        {m: s.chosen.test for m, s in every.items()},
        unaligned=setting.unaligned,
        caption=setting.caption() + linked_caption(linked_settings, setting),
        paper=paper_numbers(setting.paper_column),
        train={m: s.chosen.train for m, s in every.items()},
        notes=omega_notes(summaries),
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
    if "csv" in formats:
        _remove_stale_tables(out, {t.key for t in tables})
    if figures:
        written += write_figures(summaries, setting, out)
        written += write_linked_figures(summaries, extra, setting, out, linked_settings)
    return written


def _remove_stale_tables(out: Path, kept: set[str]) -> None:
    """Remove the CSV of each table this writing left out (one dropped since, such as a Table
    1 without rows in an ablation), which would otherwise be read as current."""
    for key in set(TABLE_KEYS) - kept:
        (out / f"{key}.csv").unlink(missing_ok=True)

"""`lrlc reproduce --preset NAME --out DIR`: the preset's sweeps in order into DIR/<sweep>/
(each resumable, see `lrlc.experiments.sweep`), then DIR/report/<sweep>/ for each sweep.

With `train=False` (`--report-only`) it writes the reports of whatever runs have finished, so a
long reproduction can be read (and committed) while it goes on; captions count the runs done.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..records import RESULT
from ..report import Linked, ReportError, summary_markdown, write_report
from ..sweep import RUNS, DataLoader, run_sweep
from .plans import Preset
from .presets import get_preset


def reproduce(
    preset: str | Preset,
    out: str | Path,
    executor: Any = None,
    loader: DataLoader | None = None,
    command: Sequence[str] | str | None = None,
    formats: Sequence[str] = ("md", "tex", "csv"),
    precision: str | None = None,
    report_dir: str | Path | None = None,
    train: bool = True,
    figures: bool = True,
) -> Path:
    """Run every sweep of the preset (unless `train` is False), then report each into
    `report_dir` (default `out`/report)/<sweep>/.

    A sweep with failed runs does not stop the others; the reports use the runs that finished,
    and a RuntimeError lists the failures at the end. Returns the report folder.
    """
    p = preset if isinstance(preset, Preset) else get_preset(preset)
    out = Path(out)
    failures = []
    if train:
        print(f"reproduce '{p.name}': {p.description}; {p.n_runs()} runs in {len(p.sweeps)} sweeps")
        for plan in p.sweeps:
            try:
                run_sweep(plan.grid(precision), out / plan.name, executor, loader, command)
            except RuntimeError as err:
                failures.append(f"{plan.name}: {err}")
    reports = Path(report_dir) if report_dir is not None else out / "report"
    for plan in p.sweeps:
        if not train and not any((out / plan.name).glob(f"{RUNS}/*/{RESULT}")):
            print(f"report {plan.name}: no finished runs yet in {out / plan.name}")
            continue
        links = [Linked(s.label, out / s.name, s.link_protocol) for s in p.links(plan.name)]
        try:
            written = write_report(
                out / plan.name, reports / plan.name, formats, figures, linked=links,
                note=plan.note,
            )  # fmt: skip
        except ReportError as err:
            failures.append(f"report {plan.name}: {err}")
            continue
        print(f"\n{summary_markdown(out / plan.name)}")
        print(f"report {plan.name}: {len(written)} files in {reports / plan.name}")
    print(f"reports written to {reports}/<sweep>/ (report.md, report.tex, *.csv, *.png)")
    if failures:
        raise RuntimeError("some runs failed: " + " | ".join(failures))
    return reports

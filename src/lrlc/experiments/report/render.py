"""Tables and their renderings as Markdown, LaTeX (booktabs) and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .stats import Stat


@dataclass
class Table:
    """Columns are (key, header); a Stat value renders as 'mean ± SE' and as two CSV columns."""

    key: str
    title: str
    caption: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]


def _cell(value: Any) -> str:
    if isinstance(value, Stat):
        return value.fmt()
    return "—" if value is None else str(value)


def to_markdown(tables: Sequence[Table], heading: str = "") -> str:
    parts = [f"# {heading}\n"] if heading else []
    for t in tables:
        parts.append(f"## {t.title}\n\n{t.caption}\n")
        parts.append("| " + " | ".join(h for _, h in t.columns) + " |")
        parts.append("|" + "|".join("---" for _ in t.columns) + "|")
        parts += ["| " + " | ".join(_cell(r.get(k)) for k, _ in t.columns) + " |" for r in t.rows]
        parts.append("")
    return "\n".join(parts)


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$"}
_TEX.update({"{": r"\{", "}": r"\}", "±": r"$\pm$", "—": "--", "ω": r"$\omega$"})


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def to_latex(tables: Sequence[Table]) -> str:
    """One booktabs `table` per Table (needs \\usepackage{booktabs})."""
    out = []
    for t in tables:
        out += ["\\begin{table}[ht]", "\\centering", "\\small"]
        out.append(f"\\caption{{{_tex(t.title)}. {_tex(t.caption)}}}")
        out.append(f"\\label{{tab:{t.key.replace('_', '-')}}}")
        out.append("\\begin{tabular}{l" + "r" * (len(t.columns) - 1) + "}")
        out += ["\\toprule", " & ".join(_tex(h) for _, h in t.columns) + " \\\\", "\\midrule"]
        out += [" & ".join(_tex(_cell(r.get(k))) for k, _ in t.columns) + " \\\\" for r in t.rows]
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)


def to_csv(table: Table) -> str:
    """Raw numbers: a Stat column becomes <key>_mean and <key>_se (empty when n/a)."""
    keys = [k for k, _ in table.columns]
    stat = {k for k in keys if any(isinstance(r.get(k), Stat) for r in table.rows)}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([h for k in keys for h in ((f"{k}_mean", f"{k}_se") if k in stat else [k])])
    for row in table.rows:
        cells: list[Any] = []
        for k, v in ((k, row.get(k)) for k in keys):
            if k in stat:
                cells += ["", ""] if v is None else [v.mean, "" if v.se is None else v.se]
            else:
                cells.append("" if v is None else v)
        writer.writerow(cells)
    return buf.getvalue()

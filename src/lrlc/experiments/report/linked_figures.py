"""Figures of rows from linked sweeps (`linked.py`): the paper's Supp. Fig. 1 (constant vs
random combining init) and Supp. Fig. 2 (factorised vs full combining weights), and fixed vs
input-dependent weights on the centred and the random canvas (Table 3, slide 12)."""

from __future__ import annotations

from pathlib import Path

from .figures import _errorbar, _figure, _hline, _rank_axis, _save
from .linked import CENTRED_CANVAS, FULL_COMBINING, INIT_RANDOM, RANDOM_CANVAS, row_label
from .results import ModelSummary, SweepSetting

# (file, title, [(row key, line style)]): a figure is drawn when its first two rows exist.
_FIGURES = (
    ("supp_fig1_init.png", "Constant (conv) vs random combining init, 3rd layer (Supp. Fig. 1)",
     [("lrlc3", "-"), (f"lrlc3@{INIT_RANDOM}", "--")]),
    ("supp_fig2_combining.png", "Factorised vs full combining weights, 3rd layer (Supp. Fig. 2)",
     [("lrlc3", "-"), (f"lrlc3@{FULL_COMBINING}", "--")]),
    ("canvas_fixed_vs_input_dependent.png",
     "Fixed vs input-dependent weights on the centred and the random canvas (Table 3, slide 12)",
     [(f"lrlc3@{CENTRED_CANVAS}", "-"), (f"lrlc3_id@{CENTRED_CANVAS}", "-"),
      (f"lrlc3@{RANDOM_CANVAS}", "--"), (f"lrlc3_id@{RANDOM_CANVAS}", "--")]),
)  # fmt: skip
_COLORS = ("tab:green", "tab:purple", "tab:olive", "tab:brown")
_CONV = ("conv", f"conv@{CENTRED_CANVAS}", f"conv@{RANDOM_CANVAS}")


def write_linked_figures(
    summaries: dict[str, ModelSummary],
    linked: dict[str, ModelSummary],
    setting: SweepSetting,
    out: Path,
    linked_settings: dict[str, SweepSetting] | None = None,
) -> list[Path]:
    """Each figure whose rows were run, as a PNG in `out`: test accuracy against the rank,
    convolutions of the same data as horizontal lines.

    `linked_settings` (label -> setting) gives the subtitle of a figure whose rows all come
    from linked sweeps: their data and their protocol (the canvas pair's is its own), not the
    main sweep's.
    """
    every = {**summaries, **linked}
    paths = []
    for name, title, series in _FIGURES:
        keys = [k for k, _ in series]
        if not all(k in every for k in keys[:2]):
            continue
        data, protocol = _subtitle(keys, linked_settings or {})
        fig = _figure(setting, title, name=data, protocol=protocol)
        ax = fig.add_subplot()
        for (key, style), color in zip(series, _COLORS):
            if key in every:
                _errorbar(ax, every[key], row_label(key), color=color, linestyle=style)
        data = {k.partition("@")[2] for k in keys}
        for conv, line in zip(_CONV, (":", ":", "-.")):
            if conv in every and conv.partition("@")[2] in data:
                _hline(ax, every[conv], row_label(conv), color="k", linestyle=line)
        ranks = [r for k in keys if k in every for r in every[k].by_rank]
        _rank_axis(ax, ranks)
        paths.append(_save(fig, out / name))
    return paths


def _subtitle(keys: list[str], linked: dict[str, SweepSetting]) -> tuple[str | None, str | None]:
    """The data and protocol of a figure whose rows all come from linked sweeps (None, None
    if any row is the main sweep's): their names, and the parts of the protocol they share
    (the canvas pair's differ in the canvas alone, which the names say)."""
    labels = list(dict.fromkeys(k.partition("@")[2] for k in keys))
    if not all(label and label in linked for label in labels):
        return None, None
    settings = [linked[label] for label in labels]
    parts = [s.protocol.split(", ") for s in settings]
    shared = [p for p in parts[0] if all(p in other for other in parts[1:])]
    return "; ".join(s.name for s in settings), ", ".join(shared)

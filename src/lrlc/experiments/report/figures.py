"""PNG figures of a sweep: the paper's Figures 3-5 and Supp. Fig. 3, and learned combining maps.

Error bars are standard errors over seeds (none for a single seed). Figures are drawn on
`matplotlib.figure.Figure` with the Agg canvas, never through pyplot, so that a report neither
needs a display nor changes the caller's matplotlib backend.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ...models import depth_of, paper_row
from ..records import read_combining
from .results import ModelSummary, RankStats, SweepSetting

PLACEMENTS = ("1", "2", "3", "all")
COLORS = {"1": "tab:blue", "2": "tab:orange", "3": "tab:green", "all": "tab:red"}


def _figure(
    setting: SweepSetting,
    title: str,
    size: tuple[float, float] = (9.5, 4.8),
    name: str | None = None,
    protocol: str | None = None,
) -> Figure:
    """A figure whose subtitle names the data and protocol (default: the setting's)."""
    fig = Figure(figsize=size, dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    note = f"{name or setting.name}: {protocol or setting.protocol}"
    note += " — REDUCED protocol" if setting.reduced else ""
    chars = int(size[0] * 13)  # about what fits at font size 9
    fig.suptitle(textwrap.fill(title, chars) + "\n" + textwrap.fill(note, chars), fontsize=9)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path)
    return path


def _errorbar(
    ax: Axes,
    s: ModelSummary,
    label: str,
    x_of: Callable[[RankStats], float] | None = None,
    **style: Any,
) -> None:
    """Test accuracy of every rank of one model; x is the rank unless `x_of` maps stats to x."""
    stats = list(s.by_rank.values())
    xs = [x_of(r) if x_of else r.rank for r in stats]
    ys = [r.test.mean for r in stats]
    errs = [r.test.se or 0.0 for r in stats]
    style = {"marker": "o", "ms": 4, **style}
    ax.errorbar(xs, ys, yerr=errs, label=label, capsize=3, **style)


def _hline(ax: Axes, s: ModelSummary, label: str, **style: Any) -> None:
    t = s.chosen.test
    ax.axhline(t.mean, label=f"{label} ({t.fmt()})", **style)
    if t.se:
        ax.axhspan(t.mean - t.se, t.mean + t.se, color=style.get("color", "k"), alpha=0.08)


def _rank_axis(ax: Axes, ranks: Sequence[int], label: str = "spatial rank K") -> None:
    ranks = sorted(set(ranks))
    ax.set_xscale("log", base=2)
    ax.set_xticks(ranks, [str(r) for r in ranks])
    ax.minorticks_off()
    ax.set_xlabel(label)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    _legend(ax)


def _legend(ax: Axes) -> None:
    # Outside the axes: inside, it hides curves as often as not.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _conv_line(ax: Axes, summaries: dict[str, ModelSummary]) -> None:
    if "conv" in summaries:
        _hline(ax, summaries["conv"], "convolution", color="k", linestyle=":", linewidth=1.5)


def _ranks(summaries: dict[str, ModelSummary], models: Sequence[str]) -> list[int]:
    return [r for m in models if m in summaries for r in summaries[m].by_rank]


def accuracy_vs_rank(summaries: dict[str, ModelSummary], setting: SweepSetting, out: Path):
    """Paper Fig. 3: LRLC at each placement against the rank; convolution dotted black."""
    models = [f"lrlc{p}" for p in PLACEMENTS if f"lrlc{p}" in summaries]
    if not models:
        return None
    fig = _figure(setting, "LRLC placement vs spatial rank (Fig. 3)")
    ax = fig.add_subplot()
    for m in models:
        _errorbar(ax, summaries[m], paper_row(m), color=COLORS[m[4:]])
    _conv_line(ax, summaries)
    _rank_axis(ax, _ranks(summaries, models))
    return _save(fig, out / "fig3_accuracy_vs_rank.png")


def baselines(summaries: dict[str, ModelSummary], setting: SweepSetting, out: Path):
    """Paper Fig. 4: LRLC vs wide conv over rank / width factor, CoordConv and LC as lines."""
    curves = [m for m in ("lrlc3", "wide1", "wide2", "wide3") if m in summaries]
    if not curves:
        return None
    fig = _figure(setting, "LRLC vs baselines (Fig. 4); black: chosen on validation")
    ax = fig.add_subplot()
    for m, color in zip(curves, ("tab:green", "tab:cyan", "tab:purple", "tab:brown")):
        _errorbar(ax, summaries[m], paper_row(m), color=color)
        best = summaries[m].chosen
        ax.plot([best.rank], [best.test.mean], "ks", ms=7, zorder=5)
    lines = [("coordconv", "tab:olive", "--"), ("lc1", "tab:gray", "-.")]
    lines += [("lc2", "tab:pink", "-."), ("lc3", "tab:red", "-.")]
    for m, color, style in lines:
        if m in summaries:
            _hline(ax, summaries[m], paper_row(m), color=color, linestyle=style)
    _conv_line(ax, summaries)
    _rank_axis(ax, _ranks(summaries, curves), "spatial rank K (LRLC) / width factor K (wide)")
    return _save(fig, out / "fig4_baselines.png")


def fixed_vs_input_dependent(summaries: dict[str, ModelSummary], setting: SweepSetting, out: Path):
    """Paper Fig. 5: fixed vs input-dependent combining weights against the rank."""
    pairs = [p for p in PLACEMENTS if f"lrlc{p}_id" in summaries]
    if not pairs:
        return None
    fig = _figure(setting, "Fixed vs input-dependent combining weights (Fig. 5)")
    ax = fig.add_subplot()
    for p in pairs:
        if f"lrlc{p}" in summaries:
            _errorbar(ax, summaries[f"lrlc{p}"], f"LRLC layer {p}, fixed", color=COLORS[p])
        label = f"LRLC layer {p}, input-dependent"
        style = dict(color=COLORS[p], linestyle="--", marker="s")
        _errorbar(ax, summaries[f"lrlc{p}_id"], label, **style)
    _conv_line(ax, summaries)
    models = [f"lrlc{p}{s}" for p in pairs for s in ("", "_id")]
    _rank_axis(ax, _ranks(summaries, models))
    return _save(fig, out / "fig5_fixed_vs_input_dependent.png")


def accuracy_vs_params(summaries: dict[str, ModelSummary], setting: SweepSetting, out: Path):
    """Supp. Fig. 3: test accuracy against trainable parameters (from result.json)."""
    fig = _figure(setting, "Accuracy vs parameters (Supp. Fig. 3)", size=(10.0, 5.2))
    ax = fig.add_subplot()
    colors = matplotlib.colormaps["tab20"].colors
    for i, (m, s) in enumerate(summaries.items()):
        marker = "os^Dv<>pP*X"[i % 11]
        label = paper_row(m) + (" (over ranks)" if len(s.by_rank) > 1 else "")
        style = dict(color=colors[i % len(colors)], marker=marker, linestyle="-")
        _errorbar(ax, s, label, x_of=lambda r: r.params, **style)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3, which="both")
    _legend(ax)
    return _save(fig, out / "supp_fig3_accuracy_vs_params.png")


def combining_maps(
    summaries: dict[str, ModelSummary], setting: SweepSetting, out: Path
) -> list[Path]:
    """Per fixed-combining LRLC model: each layer's learned weights w_k(i, j), one panel per k,
    all panels on one colour scale. Rank: the validation-chosen one, else (if that is 1, whose
    map is constant) the largest rank run."""
    paths = []
    for model in (f"lrlc{p}" for p in PLACEMENTS):
        if model not in summaries:
            continue
        s = summaries[model]
        stats = s.chosen if s.chosen.rank > 1 else s.by_rank[max(s.by_rank)]
        # The lowest seed whose weights are on disk (learned.pt, or an older run's checkpoint).
        on_disk = (read_combining(r.folder) for r in sorted(stats.runs, key=_seed))
        learned = next((w for w in on_disk if w is not None), None)
        if learned is None:
            continue
        maps = [(depth_of(name), w) for name, w in learned.items()]
        why = "chosen on validation" if stats is s.chosen else "largest run; validation chose 1"
        title = f"Combining weights of {paper_row(model)}, rank {stats.rank} ({why})"
        paths.append(_plot_maps(maps, setting, title, out / f"combining_{model}.png"))
    return paths


def _seed(run) -> int:
    return run.config.seed


def _plot_maps(
    maps: list[tuple[int, torch.Tensor]], setting: SweepSetting, title: str, path: Path
) -> Path:
    k = max(w.shape[0] for _, w in maps)
    fig = _figure(setting, title, size=(max(6.0, 1.2 + 2.0 * k), 1.4 + 2.1 * len(maps)))
    # One scale for every panel (so weights compare across k and layers), spanning the data.
    vmin = min(float(w.min()) for _, w in maps)
    vmax = max(float(w.max()) for _, w in maps)
    axes = fig.subplots(len(maps), k, squeeze=False)
    image = None
    for row, (depth, weights) in enumerate(maps):
        for col in range(k):
            ax = axes[row][col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= weights.shape[0]:
                ax.set_visible(False)
                continue
            image = ax.imshow(weights[col].numpy(), vmin=vmin, vmax=vmax, cmap="viridis")
            ax.set_title(f"k = {col + 1}", fontsize=8)
        axes[row][0].set_ylabel(f"layer {depth}", fontsize=8)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="w_k(i, j)")
    fig.savefig(path)
    return path


def write_figures(
    summaries: dict[str, ModelSummary], setting: SweepSetting, out: Path
) -> list[Path]:
    """Every figure the runs allow, as PNG files in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    plots = (accuracy_vs_rank, baselines, fixed_vs_input_dependent, accuracy_vs_params)
    paths = [p for p in (plot(summaries, setting, out) for plot in plots) if p is not None]
    return paths + combining_maps(summaries, setting, out)

"""The paper's Supp. Fig. 4: FLOPs of one layer against the spatial rank K."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..models import build_model, layer_name
from .counts import LayerCount, count_model


def flops_vs_rank(
    ranks: Sequence[int] = (1, 2, 4, 8, 16),
    input_shape: Sequence[int] = (1, 28, 28),
    layer: int = 3,
) -> dict[str, list[int]]:
    """Per-example FLOPs of one layer of the paper's network against the spatial rank K.

    Series: "lrlc_train" (Algorithm 1), "lrlc_infer" (converted to LC), "lrlc_id" (input-
    dependent), "wide" (the parameter-matched wide convolution, model ``wide{layer}``) and
    "conv" (the plain convolution), each a list over `ranks`.
    """

    def layer_row(name: str, rank: int) -> LayerCount:
        model = build_model(name, input_shape=input_shape, rank=rank)
        prefix = layer_name(layer)
        rows = [
            r
            for r in count_model(model, input_shape)
            if r.name == prefix or r.name.startswith(prefix + ".")  # conv + spatial bias
        ]
        return LayerCount(
            prefix,
            rows[0].kind,
            sum(r.params for r in rows),
            sum(r.train_macs or 0 for r in rows),
            sum(r.infer_macs or 0 for r in rows),
        )

    series: dict[str, list[int]] = {k: [] for k in ("lrlc_train", "lrlc_infer", "lrlc_id")}
    series |= {"wide": [], "conv": []}
    conv = layer_row("conv", 1).train_flops
    for k in ranks:
        lrlc = layer_row(f"lrlc{layer}", k)
        series["lrlc_train"].append(lrlc.train_flops)
        series["lrlc_infer"].append(lrlc.infer_flops)
        series["lrlc_id"].append(layer_row(f"lrlc{layer}_id", k).train_flops)
        series["wide"].append(layer_row(f"wide{layer}", k).train_flops)
        series["conv"].append(conv)
    return series


def plot_flops_vs_rank(
    path: str | Path,
    ranks: Sequence[int] = (1, 2, 4, 8, 16),
    input_shape: Sequence[int] = (1, 28, 28),
    layer: int = 3,
) -> Path:
    """Write the paper's Supp. Fig. 4 (FLOPs of one layer against the spatial rank) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = flops_vs_rank(ranks, input_shape, layer)
    # The curves nearly coincide in pairs, so the lower one of each pair is drawn wide and
    # translucent, and the upper one thin on top of it.
    styles = {
        "lrlc_train": ("LRLC, training (Algorithm 1)", "C0", "o", "-", 7, 0.35, 12),
        "lrlc_id": ("LRLC, input-dependent weights", "C1", "^", "-", 2, 1.0, 7),
        "wide": ("wide convolution (parameter-matched)", "C2", "D", "--", 1.2, 1.0, 4),
        "conv": ("convolution", "0.5", "o", "-", 7, 0.35, 12),
        "lrlc_infer": ("LRLC converted to LC, inference", "C3", "s", "--", 1.5, 1.0, 5),
    }
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for key, (label, color, marker, ls, lw, alpha, ms) in styles.items():
        mflops = [f / 1e6 for f in data[key]]
        ax.plot(
            ranks,
            mflops,
            label=label,
            color=color,
            marker=marker,
            linestyle=ls,
            linewidth=lw,
            alpha=alpha,
            markersize=ms,
        )
    ordinal = {1: "1st", 2: "2nd", 3: "3rd"}.get(layer, f"{layer}th")
    c, h, w = input_shape
    ax.set_title(f"FLOPs of the {ordinal} layer, {c}x{h}x{w} input network (per example)")
    ax.set_xlabel("spatial rank K (wide conv: widening factor)")
    ax.set_ylabel("MFLOPs (2 x multiply-accumulates)")
    ax.set_xticks(list(ranks))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

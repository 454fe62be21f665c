"""The paper's slide 14 in numbers: a ResNet's parameters and multiply-adds per image with LRLC
layers of ranks 1..K in chosen stages, beside the plain network and a locally connected version
of the same layers. LRLC's parameters grow with the rank; a locally connected layer's with the
number of output positions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models.resnet import resnet
from .counts import count_model


def resnet_scaling(
    arch: str = "resnet50",
    stages: Sequence[str] = ("layer4",),
    ranks: Sequence[int] = (1, 2, 4, 8, 16),
    input_size: int = 224,
    num_classes: int = 1000,
) -> list[dict[str, Any]]:
    """Rows {model, rank, params, train_macs, infer_macs} per image (forward pass): the plain
    `arch`; LRLC of each rank in `stages` (training MACs by Algorithm 1, inference MACs of the
    converted form); and "locally connected", the same layers as `LocallyConnected2d` (its
    parameters are the converted LRLC layers', whatever the rank)."""
    shape = (3, input_size, input_size)
    plain = count_model(resnet(arch, input_size=input_size, num_classes=num_classes), shape)
    rows = [_row(arch, None, plain.total.params, plain.total.train_macs, plain.total.infer_macs)]
    lc = None
    for rank in ranks:
        net = resnet(arch, input_size=input_size, num_classes=num_classes, lrlc_stages=stages,
                     rank=rank)  # fmt: skip
        total = count_model(net, shape).total
        rows.append(_row(f"{arch} + LRLC", rank, total.params, total.train_macs, total.infer_macs))
        lc = (total.infer_params, total.infer_macs)
    if lc is not None:
        rows.append(_row(f"{arch} + locally connected", None, lc[0], lc[1], lc[1]))
    return rows


def _row(model: str, rank: int | None, params: int, train: int, infer: int) -> dict[str, Any]:
    return {
        "model": model,
        "rank": rank,
        "params": params,
        "train_macs": train,
        "infer_macs": infer,
    }


def format_scaling(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table: params in millions, multiply-adds in G per image."""
    lines = ["| model | rank | params (M) | training MACs (G) | inference MACs (G) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        rank = "" if r["rank"] is None else str(r["rank"])
        lines.append(
            f"| {r['model']} | {rank} | {r['params'] / 1e6:.1f} | {r['train_macs'] / 1e9:.2f} | "
            f"{r['infer_macs'] / 1e9:.2f} |"
        )
    return "\n".join(lines)

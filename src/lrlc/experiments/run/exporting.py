"""`lrlc export`: a trained run's network as an ONNX file (checked in onnxruntime) or a
`torch.export` program, in its locally connected or its K-basis form (`lrlc.export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ...export import FORMS, export_onnx, export_program
from ..records import load_run
from .convert import check_out

FORMATS = ("onnx", "pt2")


def export_run(
    run_dir: str | Path, out: str | Path, fmt: str = "onnx", form: str = "lc", batch: int = 2
) -> dict[str, Any]:
    """Write the network of `run_dir` (its last checkpoint) to `out` in `fmt` and `form`;
    an ONNX file is checked in onnxruntime against PyTorch (within 1e-4) before this returns.
    Returns what was written: format, form, layers converted or kept, errors by batch size."""
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {FORMATS}, got {fmt!r}")
    if form not in FORMS:
        raise ValueError(f"--form must be one of {FORMS}, got {form!r}")
    run_dir, out = Path(run_dir), Path(out)
    check_out(run_dir, out)
    model, config, shape = load_run(run_dir)
    example = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0))
    info: dict[str, Any] = {"model": config.model, "format": fmt, "form": form, "out": str(out)}
    if fmt == "onnx":
        done = export_onnx(model, example, out, form=form)
        info.update(
            converted=done.converted, kept=done.kept, opset=done.opset,
            max_abs_error={str(k): v for k, v in done.max_abs_error.items()},
        )  # fmt: skip
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        torch.export.save(export_program(model, example, form), str(out))
    return info

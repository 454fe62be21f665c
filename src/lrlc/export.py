"""Export a network with LRLC layers for other runtimes: ONNX (checked in onnxruntime) and
`torch.export` programs.

Two forms of each fixed LRLC layer:

- ``form="lc"``: its exact `LocallyConnected2d` (`lrlc.inference`), one multiply-add per weight
  per position: the inference form. Input-dependent layers have no such form and stay LRLC.
- ``form="basis"``: the LRLC layer itself (K bases, combining weights, spatial bias), for a
  runtime that should keep the rank's parameters (K * C_out * C_in * kh * kw instead of
  H * W * C_out * C_in * kh * kw). Its graph builds the filters of Eq. 2 and runs them as the
  locally connected product (the rank-independent path); input-dependent layers run
  Algorithm 1.

While exported, locally connected products run as `lrlc.functional.locally_connected_by_taps`
(kh * kw plain products) rather than the row engines, whose loops would unroll into thousands
of graph nodes. The batch axis stays dynamic: the exported graph serves any batch size. onnx,
onnxscript and onnxruntime are optional dependencies (the ``vision`` extra).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .inference import convert_model_layers
from .layers import LowRankLocallyConnected2d

FORMS = ("lc", "basis")
DEFAULT_OPSET = 18


@dataclass
class OnnxExport:
    """What `export_onnx` wrote: the `path`, `form` and `opset`; the LRLC layers `converted`
    to locally connected ones and those `kept` (name -> why); and, when checked, the largest
    |onnxruntime - PyTorch| output for each batch size tried (`max_abs_error`)."""

    path: Path
    form: str
    opset: int
    converted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    max_abs_error: dict[int, float] = field(default_factory=dict)


def inference_form(model: nn.Module, form: str) -> tuple[nn.Module, list[str], dict[str, str]]:
    """An eval-mode copy of `model` in `form` ("lc" or "basis"), with the LRLC layers it
    converted and those it kept."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if form == "lc":
        converted_model, done = convert_model_layers(model)
        return converted_model.eval(), done.converted, done.kept
    kept = {
        name: "form='basis' keeps every LRLC layer"
        for name, m in model.named_modules()
        if isinstance(m, LowRankLocallyConnected2d)
    }
    return copy.deepcopy(model).eval(), [], kept


def _as_args(example_input: Any) -> tuple:
    if isinstance(example_input, Tensor):
        return (example_input,)
    if isinstance(example_input, tuple) and all(isinstance(t, Tensor) for t in example_input):
        return example_input
    raise ValueError("example_input must be a tensor or a tuple of tensors (the model's inputs)")


def _batch_dims(args: tuple) -> tuple:
    batch = torch.export.Dim("batch")
    return tuple({0: batch} for _ in args)


def export_program(model: nn.Module, example_input: Any, form: str = "lc"):
    """A `torch.export.ExportedProgram` of `model` in `form`, with a dynamic batch axis (save
    it with `torch.export.save`)."""
    module, _, _ = inference_form(model, form)
    args = _as_args(example_input)
    with torch.no_grad():
        return torch.export.export(module, args, dynamic_shapes=_batch_dims(args))


def export_onnx(
    model: nn.Module,
    example_input: Any,
    path: str | Path,
    *,
    form: str = "lc",
    opset: int = DEFAULT_OPSET,
    check: bool = True,
    atol: float = 1e-4,
) -> OnnxExport:
    """Write `model` in `form` to the ONNX file `path` (dynamic batch axis) and, with `check`,
    run it in onnxruntime on `example_input` and on a batch of another size, raising a
    RuntimeError if any output differs from PyTorch's by more than `atol`.

    Args:
        example_input: a tensor (N, C, H, W) or a tuple of the model's input tensors, at the
            image size the model's LRLC layers were built for.
    """
    module, converted, kept = inference_form(model, form)
    args = _as_args(example_input)
    path = Path(path)
    with torch.no_grad(), warnings.catch_warnings():
        # The exporter's chatter (deprecations, "no opset" notes) is not the user's concern.
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, args, None, dynamo=True, opset_version=opset,
            dynamic_shapes=_batch_dims(args), verbose=False,
        )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path))
    result = OnnxExport(path, form, opset, converted, kept)
    if check:
        result.max_abs_error = check_onnx(module, args, path, atol)
    return result


def check_onnx(module: nn.Module, args: tuple, path: Path, atol: float = 1e-4) -> dict[int, float]:
    """Largest |onnxruntime - PyTorch| output of the ONNX file at `path` for the batch of
    `args` and for one of another size; a RuntimeError above `atol`."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(
            "checking an ONNX export needs onnxruntime: pip install 'lrlc[vision]', or pass "
            "check=False"
        ) from err
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    n = args[0].shape[0]
    errors: dict[int, float] = {}
    generator = torch.Generator().manual_seed(0)
    for batch in (n, n + 3):
        inputs = tuple(
            a if batch == n else torch.randn(batch, *a.shape[1:], generator=generator) for a in args
        )
        with torch.no_grad():
            expected = module(*inputs)
        expected = [expected] if isinstance(expected, Tensor) else list(expected)
        got = session.run(None, {k: a.cpu().float().numpy() for k, a in zip(names, inputs)})
        errors[batch] = max(
            float((torch.from_numpy(g) - e.float().cpu()).abs().max())
            for g, e in zip(got, expected)
        )
    worst = max(errors.values())
    if not worst <= atol:
        raise RuntimeError(
            f"the ONNX export at {path} differs from PyTorch by {worst:.3g} (> {atol}) on "
            f"batches of {sorted(errors)}: {errors}"
        )
    return errors

"""What the session-21 scripts share (run them as `python docs/benchmarks/ab-session21/X.py`,
which puts this folder on the import path): the kernel-path case of session 19 and a timer
of a training step's parts, in the process that runs them."""

import collections
import sys
import time
from pathlib import Path

import lrlc.functional._basis_rows as basis_rows
import lrlc.functional._rows as rows
import lrlc.functional._rows_backward as rows_backward

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ab-session19"))
from _case import kernel_path_case  # noqa: E402, F401  (argv N K [cl])

spent: collections.Counter = collections.Counter()  # seconds by part, since the last clear


def _timed(owner, name: str, part: str) -> None:
    inner = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = inner(*args, **kwargs)
        spent[part] += time.perf_counter() - start
        return out

    setattr(owner, name, timed)


def time_parts() -> None:
    """Count each part's seconds in `spent`: the whole forward, dL/dy's row copies, the dW
    products (with dF and dw, which are also counted alone), dF and dw, dL/dx's placed filters
    and its products. Blocking calls: the kernel returns when its product is done."""
    _timed(basis_rows.BasisKernels, "place_transposed", "placed filters")
    _timed(basis_rows.BasisKernels, "add_grad", "dF + dw")
    _timed(rows_backward._InputGradRows, "add", "dx products")
    _timed(rows_backward, "_row_filter_grad", "dW products + dF + dw")
    _timed(rows_backward._GradRows, "__call__", "dL/dy row copies")
    _timed(rows, "_forward_whole", "forward")


def shown(reps: int) -> str:
    parts = dict(spent)
    parts["dW products"] = parts.pop("dW products + dF + dw", 0.0) - parts.get("dF + dw", 0.0)
    return " ".join(f"{k}={v / reps * 1e3:.1f}" for k, v in sorted(parts.items()))

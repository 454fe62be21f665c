"""The `lrlc` command line: the parser and `main()`; each subcommand's work is in
`commands.py`, the shared flags in `flags.py`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ...export import FORMS
from ...models import model_names
from .. import huge_pages
from ..files import explain_os_error
from ..reproduce import PRESETS as REPRODUCE_PRESETS
from ..run.exporting import FORMATS
from . import commands
from .commands import BENCHMARKS
from .flags import (
    add_device_flag,
    add_executor_flags,
    add_precision_flags,
    add_protocol_flags,
    add_speed_flags,
)
from .launch import add_process_flags, add_refused_process_flags

DESCRIPTION = """lrlc: low-rank locally connected layers, and experiments that reproduce
Elsayed et al. 2020. Train one model, sweep a grid of models x ranks x seeds, report tables and
figures beside the paper's numbers, reproduce a named set of sweeps, convert a trained LRLC net
to its exact locally connected form, export it to ONNX, or benchmark speed and memory."""


def _add_experiment_commands(sub) -> None:
    """sweep, report and reproduce."""
    p = sub.add_parser("sweep", help="train a grid of models x ranks x seeds (resumable)")
    p.add_argument("--models", required=True, help="comma list of models, or 'all' / 'paper'")
    p.add_argument("--ranks", default="1", help="e.g. 1,2,4,8 (only for LRLC and wide models)")
    p.add_argument("--seeds", default="0", help="e.g. 0-9 or 0,2,5")
    p.add_argument("--width", type=int, default=64, help="channels per layer (the paper: 64)")
    p.add_argument("--out", type=Path, required=True, help="sweep folder (resumes if present)")
    add_protocol_flags(p)
    add_executor_flags(p)
    add_refused_process_flags(p)
    p.set_defaults(func=commands.sweep_command)

    p = sub.add_parser("report", help="tables (md, tex, csv) and figures (png) of a sweep")
    p.add_argument("dir", type=Path, help="a sweep folder, or a folder of sweeps")
    p.add_argument("--format", default="md,tex,csv", help="comma list of md, tex, csv")
    p.add_argument("--out", type=Path, help="report folder (default: DIR/report)")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.add_argument(
        "--allow-mixed-precision",
        action="store_true",
        help="report runs trained in different precisions together, flagged in every caption "
        "(default: refuse, naming the runs)",
    )
    p.set_defaults(func=commands.report_command)

    p = sub.add_parser("reproduce", help="a named set of sweeps, then their reports")
    p.add_argument("--preset", required=True, choices=sorted(REPRODUCE_PRESETS))
    p.add_argument("--out", type=Path, required=True, help="folder of the sweeps and reports")
    p.add_argument("--data-dir", type=Path, help="root folder of the datasets")
    p.add_argument("--report-dir", type=Path, help="folder of the reports (default: OUT/report)")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: report the runs finished so far (captions count them)",
    )
    add_precision_flags(p)
    add_speed_flags(p)
    add_executor_flags(p)
    add_refused_process_flags(p)
    p.set_defaults(func=commands.reproduce_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lrlc", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one model and write DIR/result.json")
    p.add_argument("--model", required=True, choices=model_names())
    p.add_argument("--rank", type=int, default=1, help="LRLC rank / wide-conv factor")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="run folder (resumes if present)")
    add_protocol_flags(p)
    add_device_flag(p)
    add_process_flags(p)
    p.set_defaults(func=commands.train_command)
    p = sub.add_parser("convert", help="a trained run's LRLC layers -> exact LC layers")
    p.add_argument("run", type=Path, help="a run folder (with checkpoint.pt)")
    p.add_argument("--out", type=Path, required=True, help="file for the converted weights")
    p.set_defaults(func=commands.convert_command)
    p = sub.add_parser("export", help="a trained run's net -> ONNX (checked) or torch.export")
    p.add_argument("run", type=Path, help="a run folder (with checkpoint.pt)")
    p.add_argument("--out", type=Path, required=True, help="file to write (e.g. model.onnx)")
    p.add_argument(
        "--format", default="onnx", choices=FORMATS, help="%(choices)s (default %(default)s)"
    )
    p.add_argument(
        "--form", default="lc", choices=FORMS,
        help="fixed LRLC layers as exact locally connected layers (lc) or as K bases (basis)",
    )  # fmt: skip
    p.set_defaults(func=commands.export_command)
    _add_experiment_commands(sub)
    p = sub.add_parser(
        "bench",
        help="speed and memory benchmarks (layers, rank, training) with ratios to in-run baselines",
    )
    p.add_argument(
        "which", nargs="?", choices=BENCHMARKS, help=f"which benchmark: {', '.join(BENCHMARKS)}"
    )
    p.add_argument(
        "bench_args", nargs=argparse.REMAINDER, help="its flags; see lrlc bench WHICH --help"
    )
    p.set_defaults(func=commands.bench_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what --nproc hands to torchrun
    # First, before any tensor exists: torch reads the variable at its first CPU allocation.
    huge_pages.apply(getattr(args, "huge_pages", None))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(
            "interrupted; rerun the same command to resume from the last checkpoint",
            file=sys.stderr,
        )
        return 130
    except (ValueError, RuntimeError, ImportError) as err:
        # One clear message for user errors (bad flags, missing data, NaN loss, bad --out, an
        # optional dependency that is not installed).
        print(f"lrlc: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        # Missing inputs, and outputs that cannot be written (a file or folder in the way,
        # no permission, a full disk): the path and what to do, not a traceback.
        print(f"lrlc: error: {explain_os_error(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

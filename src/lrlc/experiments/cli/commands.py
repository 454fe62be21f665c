"""What each `lrlc` subcommand does: train, sweep, report, reproduce, convert, export, bench."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import import_module
from pathlib import Path

from ...models import layer_kinds
from ...models.kinds import check_options
from ..config import TrainConfig
from ..records import RUNS
from ..report import write_report
from ..reproduce import reproduce
from ..run import distributed, train
from ..run.convert import convert_run
from ..run.exporting import export_run
from ..sweep import DatasetLoader, SweepGrid, parse_int_list, parse_models, run_sweep
from .flags import config_from_args, executor_from_args, precision_from_args, speed_from_args
from .launch import check_not_distributed, check_process_flags, launch_torchrun

BENCHMARKS = ("layers", "rank", "training")


def train_command(args: argparse.Namespace) -> int:
    config = config_from_args(args, model=args.model, rank=args.rank, seed=args.seed)
    check_options(layer_kinds(config.model), config.layer_kwargs, config.model)
    if check_process_flags(args, config.batch_size) > 1 and args.nproc:
        return launch_torchrun(args.nproc, args.argv)
    processes = distributed.start(args.device, args.sync_bn)  # one process unless torchrun's
    try:
        return _train_run(args, config, processes)
    finally:
        distributed.stop()


def _train_run(
    args: argparse.Namespace, config: TrainConfig, processes: distributed.Processes
) -> int:
    print(
        f"run {config.run_id()}: {config.model} rank {config.rank} on {config.dataset}, "
        f"seed {config.seed}, {config.protocol()}",
        flush=True,
    )
    if not config.is_reduced():
        print(
            f"this is the {config.preset} protocol in full ({config.epochs} epochs on every "
            "training image); --epochs and --train-size make a shorter run",
            flush=True,
        )
    speed = speed_from_args(args)
    result = train(config, args.out, data_dir=args.data_dir, speed=speed, processes=processes)
    m = result["metrics"]
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()}))
    print(f"result: {Path(args.out) / 'result.json'}")
    return 0


def sweep_command(args: argparse.Namespace) -> int:
    check_not_distributed(args, "sweep")
    models = parse_models(args.models)
    base = config_from_args(args, model=models[0], rank=1, seed=0, width=args.width)
    grid = SweepGrid(base, models, parse_int_list(args.ranks), parse_int_list(args.seeds))
    loader = DatasetLoader(str(args.data_dir) if args.data_dir else None)
    command = ["lrlc"] + sys.argv[1:]
    run_sweep(grid, args.out, executor_from_args(args), loader, command)
    print(f"sweep done; tables and figures: lrlc report {args.out}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not args.dir.is_dir():
        raise FileNotFoundError(f"no such folder: {args.dir}")
    # A folder of sweeps (as `lrlc reproduce` writes) gets one report per sweep.
    sweeps = (
        [args.dir]
        if (args.dir / RUNS).is_dir()
        else sorted(d for d in args.dir.iterdir() if (d / RUNS).is_dir())
    )
    if not sweeps:
        raise FileNotFoundError(f"no sweep folder (with {RUNS}/) at or under {args.dir}")
    for sweep in sweeps:
        out = args.out or sweep / "report"
        if args.out and sweep != args.dir:
            out = args.out / sweep.name
        written = write_report(
            sweep,
            out,
            formats,
            figures=not args.no_figures,
            allow_mixed_precision=args.allow_mixed_precision,
        )
        print(f"report of {sweep}: {len(written)} files in {out}")
        for path in written:
            print(f"  {path}")
    return 0


def reproduce_command(args: argparse.Namespace) -> int:
    check_not_distributed(args, "reproduce")
    loader = DatasetLoader(str(args.data_dir) if args.data_dir else None)
    command = ["lrlc"] + sys.argv[1:]
    executor = executor_from_args(args)
    precision = precision_from_args(args)
    reproduce(
        args.preset, args.out, executor, loader, command, precision=precision,
        report_dir=args.report_dir, train=not args.report_only,
    )  # fmt: skip
    return 0


def convert_command(args: argparse.Namespace) -> int:
    replaced = args.out.is_file()
    info = convert_run(args.run, args.out)
    print(f"{info['config']['model']} in {args.run}: {info['found']}")
    print(
        f"converted {info['layers_converted']} LRLC layer(s) of {info['config']['model']} to "
        f"locally connected; max |difference| on a random batch {info['max_abs_diff']:.2e}; "
        f"saved to {args.out}" + (" (replaced the file there)" if replaced else "")
    )
    for name, why in info["kept"].items():
        print(f"kept {name} as an LRLC layer: {why}")
    return 0


def export_command(args: argparse.Namespace) -> int:
    info = export_run(args.run, args.out, args.format, args.form)
    what = f"{info['model']} in {args.run} as {args.format.upper()} ({args.form} form)"
    if args.format == "onnx":
        errors = ", ".join(f"batch {b}: {e:.1e}" for b, e in info["max_abs_error"].items())
        print(f"exported {what}, opset {info['opset']}, to {args.out}")
        print(f"onnxruntime vs PyTorch, max |difference|: {errors}")
        for name in info["converted"]:
            print(f"  {name}: locally connected")
        for name, why in info["kept"].items():
            print(f"  {name}: LRLC ({why})")
    else:
        print(f"exported {what} (torch.export program, dynamic batch) to {args.out}")
    return 0


def bench_command(args: argparse.Namespace) -> int:
    if args.which is None:
        raise ValueError(
            f"name a benchmark: lrlc bench {{{','.join(BENCHMARKS)}}} [--quick] [--json PATH]; "
            "lrlc bench layers --help lists its flags"
        )
    return import_module(f"lrlc.bench.{args.which}").main(args.bench_args)

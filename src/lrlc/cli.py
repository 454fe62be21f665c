"""The `lrlc` command: train (one run); more subcommands register themselves below."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .bench import BENCHMARKS
from .config import PRESETS, TrainConfig
from .data import DATASETS
from .models import model_names


def add_protocol_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by `train` and `sweep`: data, protocol overrides and speed switches."""
    p.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="root folder of the datasets (default: $LRLC_DATA_DIR or ~/.cache)",
    )
    p.add_argument(
        "--preset",
        default="paper",
        choices=sorted(PRESETS),
        help="training protocol; the flags below override it",
    )
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--warmup-epochs", type=int)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--train-size", type=int, help="a fixed stratified subset of the train split")
    p.add_argument(
        "--translate",
        type=int,
        default=0,
        help="shift every image by up to this many pixels (unaligned data)",
    )
    p.add_argument(
        "--data-seed",
        type=int,
        default=0,
        help="seed of the subset and the shifts (shared by all runs of a sweep)",
    )
    p.add_argument("--combining", help="LRLC combining mode (default: factorized)")
    p.add_argument("--normalize", help="LRLC weight normalisation (default: softmax)")
    p.add_argument("--init", help="LRLC init: conv or random")
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on; --no-bf16 trains in float32)",
    )
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")


def config_from_args(args: argparse.Namespace, **fixed) -> TrainConfig:
    """A TrainConfig from parsed flags; `fixed` sets model, rank and seed."""
    layer_kwargs = {
        k: getattr(args, k) for k in ("combining", "normalize", "init") if getattr(args, k)
    }
    return TrainConfig.from_preset(
        args.preset,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_epochs=args.warmup_epochs,
        weight_decay=args.weight_decay,
        train_size=args.train_size,
        translate=args.translate,
        data_seed=args.data_seed,
        layer_kwargs=layer_kwargs,
        bf16=args.bf16,
        channels_last=args.channels_last or None,
        compile=args.compile or None,
        **fixed,
    )


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    config = config_from_args(args, model=args.model, rank=args.rank, seed=args.seed)
    print(
        f"run {config.run_id()}: {config.model} rank {config.rank} on {config.dataset}, "
        f"seed {config.seed}, {config.protocol()}",
        flush=True,
    )
    result = train(config, args.out, data_dir=args.data_dir, device=args.device)
    m = result["metrics"]
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()}))
    print(f"result: {Path(args.out) / 'result.json'}")
    return 0


def _add_executor_flags(p: argparse.ArgumentParser) -> None:
    """Where the runs of a sweep execute (see lrlc.executors)."""
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="local: parallel runs, each with cores // N torch threads (on 2 cores, 1 is right)",
    )
    p.add_argument("--ray-address", help="an existing Ray cluster; default: start a local Ray")
    p.add_argument("--ray-cpus", type=int, help="CPUs of a locally started Ray (default: all)")
    p.add_argument("--cpus-per-run", type=int, default=1, help="Ray: CPUs (threads) per run")
    p.add_argument(
        "--gpus-per-run", type=float, default=0.0, help="Ray: GPUs per run (0.5 shares one)"
    )
    _add_device_flag(p)


def _add_device_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        default=None,
        help="cpu (default), cuda, cuda:N or auto; not part of the run's config hash",
    )


def _executor_from_args(args: argparse.Namespace):
    from .executors import LocalExecutor, RayExecutor

    if args.executor == "ray":
        if args.device not in (None, "cpu", "cuda"):
            raise ValueError("with --executor ray, ask for GPUs with --gpus-per-run, not --device")
        gpus = args.gpus_per_run or (1.0 if args.device == "cuda" else 0.0)
        return RayExecutor(args.ray_address, args.ray_cpus, args.cpus_per_run, gpus)
    return LocalExecutor(args.workers, device=args.device)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import DatasetLoader, SweepGrid, parse_int_list, parse_models, run_sweep

    models = parse_models(args.models)
    base = config_from_args(args, model=models[0], rank=1, seed=0, width=args.width)
    grid = SweepGrid(base, models, parse_int_list(args.ranks), parse_int_list(args.seeds))
    loader = DatasetLoader(str(args.data_dir) if args.data_dir else None)
    command = ["lrlc"] + sys.argv[1:]
    run_sweep(grid, args.out, _executor_from_args(args), loader, command)
    print(f"sweep done; tables and figures: lrlc report {args.out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report
    from .sweep import RUNS

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
        written = write_report(sweep, out, formats, figures=not args.no_figures)
        print(f"report of {sweep}: {len(written)} files in {out}")
        for path in written:
            print(f"  {path}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .presets import reproduce
    from .sweep import DatasetLoader

    loader = DatasetLoader(str(args.data_dir) if args.data_dir else None)
    command = ["lrlc"] + sys.argv[1:]
    reproduce(args.preset, args.out, _executor_from_args(args), loader, command)
    return 0


def _add_experiment_commands(sub) -> None:
    """sweep, report and reproduce."""
    from .presets import PRESETS as REPRODUCE_PRESETS

    p = sub.add_parser("sweep", help="train a grid of models x ranks x seeds (resumable)")
    p.add_argument("--models", required=True, help="comma list of models, or 'all' / 'paper'")
    p.add_argument("--ranks", default="1", help="e.g. 1,2,4,8 (only for LRLC and wide models)")
    p.add_argument("--seeds", default="0", help="e.g. 0-9 or 0,2,5")
    p.add_argument("--width", type=int, default=64, help="channels per layer (the paper: 64)")
    p.add_argument("--out", type=Path, required=True, help="sweep folder (resumes if present)")
    add_protocol_flags(p)
    _add_executor_flags(p)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("report", help="tables (md, tex, csv) and figures (png) of a sweep")
    p.add_argument("dir", type=Path, help="a sweep folder, or a folder of sweeps")
    p.add_argument("--format", default="md,tex,csv", help="comma list of md, tex, csv")
    p.add_argument("--out", type=Path, help="report folder (default: DIR/report)")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("reproduce", help="a named set of sweeps, then their reports")
    p.add_argument("--preset", required=True, choices=sorted(REPRODUCE_PRESETS))
    p.add_argument("--out", type=Path, required=True, help="folder of the sweeps and reports")
    p.add_argument("--data-dir", type=Path, help="root folder of the datasets")
    _add_executor_flags(p)
    p.set_defaults(func=_cmd_reproduce)


def _cmd_convert(args: argparse.Namespace) -> int:
    from .convert import convert_run

    info = convert_run(args.run, args.out)
    print(
        f"converted {info['layers_converted']} LRLC layer(s) of {info['config']['model']} to "
        f"locally connected; max |difference| on a random batch {info['max_abs_diff']:.2e}; "
        f"saved to {args.out}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lrlc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one model and write DIR/result.json")
    p.add_argument("--model", required=True, choices=model_names())
    p.add_argument("--rank", type=int, default=1, help="LRLC rank / wide-conv factor")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="run folder (resumes if present)")
    add_protocol_flags(p)
    _add_device_flag(p)
    p.set_defaults(func=_cmd_train)
    p = sub.add_parser("convert", help="a trained run's LRLC layers -> exact LC layers")
    p.add_argument("run", type=Path, help="a run folder (with checkpoint.pt)")
    p.add_argument("--out", type=Path, required=True, help="file for the converted weights")
    p.set_defaults(func=_cmd_convert)
    _add_experiment_commands(sub)
    p = sub.add_parser(
        "bench",
        help="speed and memory benchmarks (layers, training) with ratios to in-run baselines",
    )
    p.add_argument("which", choices=BENCHMARKS, help="which benchmark")
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="its flags; see --help of each")
    p.set_defaults(func=_cmd_bench)
    return parser


def _cmd_bench(args: argparse.Namespace) -> int:
    from importlib import import_module

    return import_module(f"lrlc.bench.{args.which}").main(args.bench_args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(
            "interrupted; rerun the same command to resume from the last checkpoint",
            file=sys.stderr,
        )
        return 130
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        # One clear message for user errors (bad flags, missing data, NaN loss, bad --out).
        print(f"lrlc: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

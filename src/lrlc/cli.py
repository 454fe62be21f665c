"""lrlc: low-rank locally connected layers, and experiments that reproduce Elsayed et al. 2020.

Train one model, sweep a grid of models x ranks x seeds, report tables and figures beside the
paper's numbers, reproduce a named set of sweeps, convert a trained LRLC net to its exact
locally connected form, or benchmark speed and memory.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .bench import BENCHMARKS
from .config import PRESETS, TrainConfig
from .data import DATASETS
from .layers.combining import COMBINING_MODES, INITS
from .layers.functional import NORMALIZATIONS
from .machine import PRECISIONS, SpeedOptions
from .models import model_names


def add_protocol_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by `train` and `sweep`: data, protocol overrides and layer options."""
    p.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="root folder of the datasets (default: $LRLC_DATA_DIR or ~/.cache/lrlc/data)",
    )
    paper = PRESETS["paper"]
    p.add_argument(
        "--protocol",
        "--preset",  # its old name, kept as an alias
        dest="preset",
        default="paper",
        choices=sorted(PRESETS),
        help="training protocol (default: paper = %(default)s's 150 epochs on all training "
        "images); the flags below override it",
    )
    p.add_argument("--epochs", type=int, help=f"training epochs (paper: {paper['epochs']})")
    p.add_argument(
        "--batch-size", type=int, help=f"images per step, >= 2 (paper: {paper['batch_size']})"
    )
    p.add_argument("--lr", type=float, help=f"peak learning rate of Adam (paper: {paper['lr']})")
    p.add_argument(
        "--warmup-epochs",
        type=int,
        help=f"linear warm-up before cosine decay (paper: {paper['warmup_epochs']} of 150; "
        "with fewer --epochs, the same fraction)",
    )
    p.add_argument(
        "--weight-decay", type=float, help=f"Adam weight decay (paper: {paper['weight_decay']})"
    )
    p.add_argument(
        "--train-size",
        type=int,
        help="a fixed stratified subset of the train split (default: all of it)",
    )
    p.add_argument(
        "--translate",
        type=int,
        default=0,
        help="shift every image by up to this many pixels (unaligned data; default 0)",
    )
    p.add_argument(
        "--data-seed",
        type=int,
        default=0,
        help="seed of the subset and the shifts (shared by all runs of a sweep; default 0)",
    )
    p.add_argument(
        "--combining",
        choices=COMBINING_MODES,
        help="LRLC combining weights (default: factorized; input_dependent is the _id models)",
    )
    p.add_argument(
        "--normalize", choices=NORMALIZATIONS, help="LRLC weight normalisation (default: softmax)"
    )
    p.add_argument(
        "--init",
        choices=INITS,
        help="LRLC combining-weight init (default: conv, which starts as a convolution)",
    )
    add_precision_flags(p)
    add_speed_flags(p)


def add_precision_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="auto (default): bf16 autocast where the device runs it natively, else fp32",
    )
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="old aliases: --bf16 = --precision bf16, --no-bf16 = --precision fp32",
    )


def add_speed_flags(p: argparse.ArgumentParser) -> None:
    """Speed switches that do not change what a run computes (not part of its identity)."""
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="NHWC memory format (default: auto, on for CUDA, off on the CPU)",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile the model (default: off; pays off only in long runs)",
    )
    p.add_argument(
        "--threads", type=int, help="torch threads (default: torch's, one per physical core)"
    )


def precision_from_args(args: argparse.Namespace) -> str | None:
    """--precision, or the precision its old aliases --bf16/--no-bf16 name."""
    alias = None if args.bf16 is None else ("bf16" if args.bf16 else "fp32")
    if args.precision is not None and alias is not None and alias != args.precision:
        raise ValueError(
            f"--precision {args.precision} and --{'' if args.bf16 else 'no-'}bf16 disagree; "
            "give only --precision"
        )
    return args.precision or alias


def speed_from_args(args: argparse.Namespace) -> SpeedOptions:
    return SpeedOptions(
        channels_last=args.channels_last, compile=args.compile, threads=args.threads
    )


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
        precision=precision_from_args(args),
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
    if not config.is_reduced():
        print(
            f"this is the {config.preset} protocol in full ({config.epochs} epochs on every "
            "training image); --epochs and --train-size make a shorter run",
            flush=True,
        )
    speed = speed_from_args(args)
    result = train(config, args.out, data_dir=args.data_dir, device=args.device, speed=speed)
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
        speed = speed_from_args(args)
        return RayExecutor(args.ray_address, args.ray_cpus, args.cpus_per_run, gpus, speed)
    return LocalExecutor(args.workers, device=args.device, speed=speed_from_args(args))


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


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .presets import reproduce
    from .sweep import DatasetLoader

    loader = DatasetLoader(str(args.data_dir) if args.data_dir else None)
    command = ["lrlc"] + sys.argv[1:]
    executor = _executor_from_args(args)
    precision = precision_from_args(args)
    reproduce(args.preset, args.out, executor, loader, command, precision=precision)
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
    p.add_argument(
        "--allow-mixed-precision",
        action="store_true",
        help="report runs trained in different precisions together, flagged in every caption "
        "(default: refuse, naming the runs)",
    )
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("reproduce", help="a named set of sweeps, then their reports")
    p.add_argument("--preset", required=True, choices=sorted(REPRODUCE_PRESETS))
    p.add_argument("--out", type=Path, required=True, help="folder of the sweeps and reports")
    p.add_argument("--data-dir", type=Path, help="root folder of the datasets")
    add_precision_flags(p)
    add_speed_flags(p)
    _add_executor_flags(p)
    p.set_defaults(func=_cmd_reproduce)


def _cmd_convert(args: argparse.Namespace) -> int:
    from .convert import convert_run

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
    p.add_argument(
        "which", nargs="?", choices=BENCHMARKS, help=f"which benchmark: {', '.join(BENCHMARKS)}"
    )
    p.add_argument(
        "bench_args", nargs=argparse.REMAINDER, help="its flags; see lrlc bench WHICH --help"
    )
    p.set_defaults(func=_cmd_bench)
    return parser


def _cmd_bench(args: argparse.Namespace) -> int:
    from importlib import import_module

    if args.which is None:
        raise ValueError(
            f"name a benchmark: lrlc bench {{{','.join(BENCHMARKS)}}} [--quick] [--json PATH]; "
            "lrlc bench layers --help lists its flags"
        )
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
    except (ValueError, RuntimeError) as err:
        # One clear message for user errors (bad flags, missing data, NaN loss, bad --out).
        print(f"lrlc: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        # Missing inputs, and outputs that cannot be written (a file or folder in the way,
        # no permission, a full disk): the path and what to do, not a traceback.
        from .checkpoint import explain_os_error

        print(f"lrlc: error: {explain_os_error(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The command line's shared flags, and the objects they turn into."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ...data import DATASETS
from ...data.own import is_own_name, parse_own_name
from ...models.kinds import option_fields
from ..config import PRESETS, TrainConfig
from ..machine import PRECISIONS, SpeedOptions
from ..sweep import LocalExecutor, RayExecutor


def dataset_name(text: str) -> str:
    """A --dataset value: a built-in name, or npz:/folder: with its path made absolute, so that
    a run's identity does not depend on the folder the command was started in."""
    if text in DATASETS:
        return text
    if not is_own_name(text):
        raise argparse.ArgumentTypeError(
            f"unknown dataset {text!r}: choose one of {', '.join(sorted(DATASETS))}, or your own "
            "data as npz:PATH or folder:PATH[@SIZE[,gray][,crop]]"
        )
    try:
        own = parse_own_name(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    suffix = f"@{own.options.text()}" if own.options is not None else ""
    return f"{own.kind}:{own.path.resolve()}{suffix}"


def add_layer_option_flags(p: argparse.ArgumentParser) -> None:
    """One flag per layer option of the layer-kind registry (`lrlc.models.kinds`), e.g.
    --init for LRLC layers, --omega-1 for the non-stationary ones; each reaches only the
    kinds that declare it."""
    group = p.add_argument_group("layer options (each applies only to the layers that take it)")
    for name, f in option_fields().items():
        flag = "--" + name.replace("_", "-")
        help_text = f"{f.metadata['help']} (default: {f.default})"
        if f.type in (bool, "bool"):
            group.add_argument(flag, dest=f"layer_{name}", action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)  # fmt: skip
            continue
        kind = float if f.type in (float, "float") else str
        group.add_argument(flag, dest=f"layer_{name}", type=kind, default=None,
                           choices=f.metadata.get("choices"), help=help_text,
                           metavar=None if f.metadata.get("choices") else name.upper())  # fmt: skip


def layer_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The layer options given on the command line, by name."""
    names = option_fields()
    return {
        n: getattr(args, f"layer_{n}") for n in names if getattr(args, f"layer_{n}") is not None
    }


def add_protocol_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by `train` and `sweep`: data, protocol overrides and layer options."""
    p.add_argument(
        "--dataset",
        default="mnist",
        type=dataset_name,
        help=f"{', '.join(sorted(DATASETS))}, or your own: npz:PATH (x_train, y_train, x_test, "
        "y_test[, x_val, y_val]) or folder:PATH[@SIZE[,gray][,crop][,stream]] (train/<class>/, "
        "val/, test/; stream: read per batch, for folders larger than memory) (default: mnist)",
    )
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
        help="training protocol (default: paper, its 150 epochs on all training images; imagenet: "
        "torchvision's ImageNet recipe, on a streamed folder); the flags below override it",
    )
    p.add_argument("--epochs", type=int, help=f"training epochs (paper: {paper['epochs']})")
    p.add_argument(
        "--batch-size", type=int, help=f"images per step, >= 2 (paper: {paper['batch_size']})"
    )
    p.add_argument("--lr", type=float, help=f"peak learning rate (paper: {paper['lr']})")
    p.add_argument(
        "--warmup-epochs",
        type=int,
        help=f"linear warm-up before cosine decay (paper: {paper['warmup_epochs']} of 150; "
        "with fewer --epochs, the same fraction)",
    )
    p.add_argument(
        "--weight-decay", type=float, help=f"weight decay (paper: {paper['weight_decay']})"
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
    add_canvas_and_validation_flags(p)
    p.add_argument(
        "--data-seed",
        type=int,
        default=0,
        help="seed of the subset and the shifts (shared by all runs of a sweep; default 0)",
    )
    add_layer_option_flags(p)
    add_precision_flags(p)
    add_speed_flags(p)


def add_canvas_and_validation_flags(p: argparse.ArgumentParser) -> None:
    """--canvas (unaligned data, lrlc.data.canvas) and --val-every (evaluation cost)."""
    p.add_argument(
        "--canvas",
        default=None,
        metavar="PLACEMENT:SIZE",
        help="put every image on a SIZE x SIZE canvas: random:42 (a uniformly random position "
        "per image, fixed by --data-seed: unaligned data) or centre:42 (the aligned control); "
        "default: none",
    )
    p.add_argument(
        "--val-every",
        type=int,
        help="validate after every N-th epoch and after the last (0: the last only; default 1); "
        "the rank is chosen on the last",
    )


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
        help="NHWC memory format (default: auto, on for CUDA and AVX-512 CPUs, off on others)",
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
    p.add_argument(
        "--huge-pages",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="2 MiB pages for large CPU tensors, fewer page faults (default: auto, on where the "
        "kernel offers transparent huge pages)",
    )
    p.add_argument(
        "--lrlc-path",
        choices=("auto", "basis", "kernel"),
        default=None,
        help="fixed LRLC layers: Algorithm 1 (basis, K convolutions), per-position filters "
        "(kernel, about one convolution at any K), or auto: the cheaper (default)",
    )
    p.add_argument(
        "--loader-workers",
        type=int,
        help="processes decoding a streamed folder's images (folder:...,stream) for each "
        "training process (default: its cores but one, at most 8; 0: in the training process)",
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
        channels_last=args.channels_last,
        compile=args.compile,
        threads=args.threads,
        lrlc_path=args.lrlc_path,
        loader_workers=args.loader_workers,
    )


def config_from_args(args: argparse.Namespace, **fixed) -> TrainConfig:
    """A TrainConfig from parsed flags; `fixed` sets model, rank and seed."""
    layer_kwargs = layer_options_from_args(args)
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
        canvas=args.canvas,
        val_every=args.val_every,
        data_seed=args.data_seed,
        layer_kwargs=layer_kwargs,
        precision=precision_from_args(args),
        **fixed,
    )


def add_executor_flags(p: argparse.ArgumentParser) -> None:
    """Where the runs of a sweep execute (see lrlc.experiments.sweep.executors)."""
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
    add_device_flag(p)


def add_device_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        default=None,
        help="cpu (default), cuda, cuda:N or auto; not part of the run's config hash",
    )


def executor_from_args(args: argparse.Namespace):
    if args.executor == "ray":
        if args.device not in (None, "cpu", "cuda"):
            raise ValueError("with --executor ray, ask for GPUs with --gpus-per-run, not --device")
        gpus = args.gpus_per_run or (1.0 if args.device == "cuda" else 0.0)
        speed = speed_from_args(args)
        return RayExecutor(args.ray_address, args.ray_cpus, args.cpus_per_run, gpus, speed)
    return LocalExecutor(args.workers, device=args.device, speed=speed_from_args(args))

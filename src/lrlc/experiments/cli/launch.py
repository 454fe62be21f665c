"""One run over several processes from the command line: `--nproc N` (which starts torchrun
for the user), `--sync-bn`, and the checks that these flags, and torchrun, are used where they
apply. The process group itself is `lrlc.experiments.run.distributed`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

from ..run.distributed import launched_by_torchrun

SWEEP_INSTEAD = "run the runs of a sweep side by side with --workers N or --executor ray"


def add_process_flags(p: argparse.ArgumentParser) -> None:
    """--nproc and --sync-bn of `lrlc train`."""
    group = p.add_argument_group("one run over several processes (DistributedDataParallel)")
    group.add_argument(
        "--nproc",
        type=int,
        help="train this run in N processes on this machine (one per GPU with --device cuda): "
        "starts torchrun --standalone --nproc_per_node N; for several machines, start "
        "torchrun yourself (README: Many GPUs or machines)",
    )
    group.add_argument(
        "--sync-bn",
        action="store_true",
        help="BatchNorm statistics over the whole global batch (SyncBatchNorm), as one process "
        "computes them, instead of over each process's share; needs several processes",
    )


def add_refused_process_flags(p: argparse.ArgumentParser) -> None:
    """Hidden --nproc and --sync-bn for the commands they do not apply to, so that giving
    them there is one clear message rather than argparse's 'unrecognized arguments'."""
    p.add_argument("--nproc", type=int, help=argparse.SUPPRESS)
    p.add_argument("--sync-bn", action="store_true", help=argparse.SUPPRESS)


def check_not_distributed(args: argparse.Namespace, command: str) -> None:
    """Refuse --nproc, --sync-bn and torchrun for a command that trains many runs."""
    given = [
        f for f, on in (("--nproc", args.nproc is not None), ("--sync-bn", args.sync_bn)) if on
    ]
    if given:
        raise ValueError(
            f"{' and '.join(given)} train one run over several processes (lrlc train); lrlc "
            f"{command} trains many runs, each in one process: {SWEEP_INSTEAD}"
        )
    if launched_by_torchrun():
        raise ValueError(
            f"lrlc {command} was started by torchrun, which trains one run over several "
            f"processes (torchrun ... -m lrlc train ...); for lrlc {command}, {SWEEP_INSTEAD}"
        )


def check_process_flags(args: argparse.Namespace, batch_size: int) -> int:
    """The number of processes `lrlc train` will train in, after checking its flags."""
    if args.nproc is not None and args.nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {args.nproc}")
    if args.nproc is not None and launched_by_torchrun():
        raise ValueError(
            "--nproc starts torchrun, but this process was started by torchrun already: give "
            "either torchrun --nproc_per_node N or lrlc train --nproc N, not both"
        )
    world = args.nproc or int(os.environ.get("WORLD_SIZE", "1") or 1)
    if args.sync_bn and not (launched_by_torchrun() or world > 1):
        raise ValueError(
            "--sync-bn synchronises BatchNorm between the processes of one run, and this run "
            "has one process: add --nproc N (N >= 2), or start it with torchrun "
            "--nproc_per_node N -m lrlc train ..."
        )
    if batch_size < 2 * world:
        raise ValueError(
            f"--batch-size {batch_size} is the global batch, shared by {world} processes: "
            f"each needs at least 2 images (BatchNorm); use --batch-size {2 * world} or more, "
            "or fewer processes"
        )
    return world


def launch_torchrun(nproc: int, argv: Sequence[str]) -> int:
    """Run `lrlc` with `argv` (less --nproc) under torchrun in `nproc` processes on this
    machine; returns torchrun's exit code."""
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={nproc}", "-m", "lrlc", *rest]  # fmt: skip
    print(f"starting: torchrun --standalone --nproc_per_node={nproc} -m lrlc {' '.join(rest)}")
    sys.stdout.flush()
    child = subprocess.Popen(command)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.wait()  # torchrun got the interrupt too: let it stop its processes first
        raise

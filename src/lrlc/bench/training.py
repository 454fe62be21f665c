"""Training-step speed of the paper's networks under the trainer's speed switches.

    lrlc bench training [--quick] [--json PATH]   (or: python -m benchmarks.training ...)

For the convolution net and the LRLC net (rank 4 in layer 3) at batch 512 on 28x28x1 input
(Fashion-MNIST's shape) this times one optimizer step (forward, backward, Adam) in float32,
bf16 autocast, bf16 + channels_last, torch.compile and bf16 + torch.compile, exactly as
`lrlc.train` runs them. Each case reports the median step time, the implied time of one
epoch of the 55,200-image Fashion-MNIST training split (steps x median; evaluation not
included), its ratio to the float32 convolution measured in the same process, and its ratio
to the convolution of the same mode, measured round-robin with it (the robust one on a
shared machine, whose speed drifts between groups).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F

from lrlc.experiments.machine import (
    EMULATED_BF16_SLOWDOWN,
    ExecutionPlan,
    SpeedOptions,
    capabilities,
    plan_execution,
)
from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.models import build_model

from .flags import count
from .harness import format_table, log, machine_end, machine_info, measure_group, median

EPOCH_IMAGES = 55_200  # Fashion-MNIST training split after the 8% validation split
TARGET_IMAGES = 60_000  # the unit: all of Fashion-MNIST's training images
# Every switch is explicit: no `auto` of the trainer may leak into a mode.
MODES = {
    "fp32": dict(precision="fp32", channels_last=False, compile=False),
    "fp32+cl": dict(precision="fp32", channels_last=True, compile=False),
    "bf16": dict(precision="bf16", channels_last=False, compile=False),
    "bf16+cl": dict(precision="bf16", channels_last=True, compile=False),
    "compile": dict(precision="fp32", channels_last=False, compile=True),
    "bf16+compile": dict(precision="bf16", channels_last=False, compile=True),
    "bf16+cl+compile": dict(precision="bf16", channels_last=True, compile=True),
}
MODELS = {
    "conv": dict(model="conv", rank=1),
    "lrlc3 r4": dict(model="lrlc3", rank=4),
    # rank 16: where Algorithm 1 made the step 6.8x the conv net's (issue 14)
    "lrlc3 r16": dict(model="lrlc3", rank=16),
}


def mode_plan(mode_kw: dict) -> ExecutionPlan:
    """The trainer's execution plan on the CPU for one speed mode."""
    speed = SpeedOptions(channels_last=mode_kw["channels_last"], compile=mode_kw["compile"])
    return plan_execution(mode_kw["precision"], torch.device("cpu"), speed)


def chosen_modes(
    precision: str, quick: bool, native_bf16: bool, compile: bool = True
) -> dict[str, dict]:
    """The modes a run measures: `auto` leaves out bf16 where this CPU only emulates it;
    `quick` and `compile=False` leave out the torch.compile modes (minutes of compiling)."""
    keep = {"fp32": ("fp32",), "bf16": ("bf16",), "all": ("fp32", "bf16")}.get(precision)
    if keep is None:  # auto
        keep = ("fp32", "bf16") if native_bf16 else ("fp32",)
    return {
        k: v
        for k, v in MODES.items()
        if v["precision"] in keep and not ((quick or not compile) and v["compile"])
    }


def make_step(model_kw: dict, mode_kw: dict, batch: int) -> Callable[[], None]:
    """One training step of the trainer's loop for this model and speed mode."""
    plan = mode_plan(mode_kw)
    torch.manual_seed(0)
    model = build_model(model_kw["model"], (1, 28, 28), 10, model_kw["rank"])
    if plan.channels_last:
        model = model.to(memory_format=torch.channels_last)
    step_fn = torch.compile(model) if plan.compile else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = plan.prepare_input(torch.randn(batch, 1, 28, 28))
    y = torch.randint(0, 10, (batch,))

    def step() -> None:
        with plan.autocast():
            logits = step_fn(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lrlc bench training", description=__doc__)
    p.add_argument("--quick", action="store_true", help="batch 64, 2 reps, no compile")
    p.add_argument("--json", help="write the JSON here instead of stdout")
    p.add_argument("--batch", type=count, default=None, help="default 512 (64 with --quick)")
    p.add_argument("--reps", type=count, default=None, help="default 7 (2 with --quick)")
    p.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "all"),
        default="auto",
        help=f"modes to measure; auto: bf16 ones only where the CPU runs bf16 natively "
        f"(emulated bf16 is {EMULATED_BF16_SLOWDOWN} slower)",
    )
    p.add_argument("--no-compile", action="store_true", help="leave out the torch.compile modes")
    args = p.parse_args(argv)
    # --quick fills in what was not given; a --batch or --reps given with it wins.
    args.batch = args.batch or (64 if args.quick else 512)
    args.reps = args.reps or (2 if args.quick else 7)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    batch, reps = args.batch, args.reps
    keep_freed_memory()  # as lrlc.train does
    info = machine_info()  # before the runs: the load and the hand-off probe at the start
    native = capabilities(torch.device("cpu")).native_bf16
    modes = chosen_modes(args.precision, args.quick, native, compile=not args.no_compile)
    log(f"native bf16 on this CPU: {native}; modes: {', '.join(modes)}")
    rows, baseline = [], None
    for mode, mode_kw in modes.items():
        # The models of one mode run round-robin in one group, so that a load spike on this
        # shared machine hits all of them and the ratio to the same mode's convolution
        # holds even when the machine's speed drifts between groups.
        log(f"{mode}: warm-up of {', '.join(MODELS)} (compiling if asked)")
        steps = {name: make_step(kw, mode_kw, batch) for name, kw in MODELS.items()}
        # Compilation happens in the first calls; 3 warm-ups leave it out of the timing.
        group = measure_group(steps, warmup=3, reps=reps)
        conv_t = median(group["conv"]["times_s"])
        baseline = baseline if baseline is not None else conv_t
        for model_name, res in group.items():
            t = median(res["times_s"])
            rows.append(
                dict(model=model_name, mode=mode, batch=batch, reps=len(res["times_s"]),
                     step_s=t, epoch_s=t * math.ceil(EPOCH_IMAGES / batch),
                     epoch_60k_s=t * math.ceil(TARGET_IMAGES / batch), ratio=t / baseline,
                     ratio_same_mode=t / conv_t, peak_mib=res["peak_bytes"] / 2**20)
            )  # fmt: skip
    rows.sort(key=lambda r: list(MODELS).index(r["model"]))  # by model, modes in order
    cols = [("model", "model", "s"), ("mode", "mode", "s"), ("batch", "N", "d")]
    cols += [("reps", "reps", "d"), ("step_s", "median s/step", ".3f")]
    cols += [("epoch_s", "s/epoch (55.2k)", ".1f"), ("epoch_60k_s", "s/60k images", ".1f")]
    cols += [("ratio", "x fp32 conv", ".2f"), ("ratio_same_mode", "x conv same mode", ".2f")]
    cols += [("peak_mib", "peak MiB", ".0f")]
    print(format_table(rows, cols))
    report = {"machine": machine_end(info), "rows": rows}
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

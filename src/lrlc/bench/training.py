"""Training-step speed of the paper's networks under the trainer's speed switches.

    lrlc bench training [--quick] [--json PATH]   (or: python -m benchmarks.training ...)

For the convolution net and the LRLC net (rank 4 in layer 3) at batch 512 on 28x28x1 input
(Fashion-MNIST's shape) this times one optimizer step (forward, backward, Adam) in float32,
bf16 autocast, bf16 + channels_last, torch.compile and bf16 + torch.compile, exactly as
`lrlc.train` runs them. Each case reports the median step time, the implied time of one
epoch of the 55,200-image Fashion-MNIST training split (steps x median; evaluation not
included), and its ratio to the float32 convolution measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F

from lrlc.config import TrainConfig
from lrlc.models import build_model
from lrlc.runtime import keep_freed_memory
from lrlc.train import autocast_context, prepare_input

from .harness import format_table, log, machine_info, measure_group, median

EPOCH_IMAGES = 55_200  # Fashion-MNIST training split after the 8% validation split
TARGET_IMAGES = 60_000  # the unit: all of Fashion-MNIST's training images
# Every switch is explicit: the trainer's defaults (bf16 on) must not leak into a mode.
MODES = {
    "fp32": dict(bf16=False, channels_last=False, compile=False),
    "bf16": dict(bf16=True, channels_last=False, compile=False),
    "bf16+cl": dict(bf16=True, channels_last=True, compile=False),
    "compile": dict(bf16=False, channels_last=False, compile=True),
    "bf16+compile": dict(bf16=True, channels_last=False, compile=True),
    "bf16+cl+compile": dict(bf16=True, channels_last=True, compile=True),
}
MODELS = {"conv": dict(model="conv", rank=1), "lrlc3 r4": dict(model="lrlc3", rank=4)}


def mode_config(model_kw: dict, mode_kw: dict) -> TrainConfig:
    """The trainer's config for one model and speed mode."""
    return TrainConfig.from_preset("paper", **model_kw, **mode_kw)


def make_step(model_kw: dict, mode_kw: dict, batch: int) -> Callable[[], None]:
    """One training step of the trainer's loop for this model and speed mode."""
    config = mode_config(model_kw, mode_kw)
    torch.manual_seed(0)
    model = build_model(config.model, (1, 28, 28), 10, config.rank)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    step_fn = torch.compile(model) if config.compile else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = prepare_input(torch.randn(batch, 1, 28, 28), config)
    y = torch.randint(0, 10, (batch,))

    def step() -> None:
        with autocast_context(config):
            logits = step_fn(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lrlc bench training", description=__doc__)
    p.add_argument("--quick", action="store_true", help="batch 64, 2 reps, no compile")
    p.add_argument("--json", help="write the JSON here instead of stdout")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--reps", type=int, default=7)
    args = p.parse_args(argv)
    keep_freed_memory()  # as lrlc.train does
    batch, reps = (64, 2) if args.quick else (args.batch, args.reps)
    modes = {k: v for k, v in MODES.items() if not (args.quick and v.get("compile"))}
    rows, baseline = [], None
    for model_name, model_kw in MODELS.items():
        for mode, mode_kw in modes.items():
            log(f"{model_name} {mode}: warm-up (compiling if asked)")
            step = make_step(model_kw, mode_kw, batch)
            # Compilation happens in the first calls; 3 warm-ups leave it out of the timing.
            res = measure_group({mode: step}, warmup=3, reps=reps)[mode]
            t = median(res["times_s"])
            baseline = baseline if baseline is not None else t
            epoch = t * math.ceil(EPOCH_IMAGES / batch)
            epoch_60k = t * math.ceil(TARGET_IMAGES / batch)
            rows.append(
                dict(model=model_name, mode=mode, batch=batch, reps=len(res["times_s"]),
                     step_s=t, epoch_s=epoch, epoch_60k_s=epoch_60k, ratio=t / baseline,
                     peak_mib=res["peak_bytes"] / 2**20)
            )  # fmt: skip
    cols = [("model", "model", "s"), ("mode", "mode", "s"), ("batch", "N", "d")]
    cols += [("reps", "reps", "d"), ("step_s", "median s/step", ".3f")]
    cols += [("epoch_s", "s/epoch (55.2k)", ".1f"), ("epoch_60k_s", "s/60k images", ".1f")]
    cols += [("ratio", "x fp32 conv", ".2f")]
    cols += [("peak_mib", "peak MiB", ".0f")]
    print(format_table(rows, cols))
    report = {"machine": machine_info(), "rows": rows}
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

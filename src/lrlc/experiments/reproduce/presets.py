"""The named reproductions: `smoke` (seconds, for tests), `demo` (minutes), `cpu` (a reduced
protocol of about 2 hours), `converged` (every model fitted, about 16 hours on 2 cores; in
`converged.py`) and `paper` (the full protocol, for GPUs or a cluster)."""

from __future__ import annotations

from ...models import paper_model_names
from .converged import CONVERGED
from .plans import Preset, SweepPlan

PAPER_MODELS = tuple(m for m in paper_model_names() if not m.startswith("ns"))

SMOKE = Preset(
    "smoke",
    "a few runs of seconds each on 500 MNIST images (checks the whole pipeline)",
    (
        SweepPlan(
            "mnist",
            "mnist",
            ("conv", "lrlc3"),
            (1, 2),
            (0, 1),
            dict(train_size=500, width=16, epochs=1, batch_size=128),
        ),
    ),
)

# The README's main command: an LRLC net next to a convolution on real, offline data, in a
# few minutes (2 runs x 5 epochs x 10,000 Fashion-MNIST images; times in the README).
DEMO = Preset(
    "demo",
    "LRLC (rank 4, 3rd layer) next to a convolution on 10,000 Fashion-MNIST images, 5 epochs",
    (
        SweepPlan(
            "fashion_mnist",
            "fashion_mnist",
            ("conv", "lrlc3"),
            (4,),
            (0,),
            dict(train_size=10000, epochs=5, warmup_epochs=1, batch_size=128),
        ),
    ),
)

# CPU budget (2 cores). Assumed: 3 ms per training image per epoch for the 64-wide conv net in
# fp32, about 2.2x less with bf16 autocast (avx512_bf16; measured 10.0 vs 4.6 ms on a loaded
# machine) = 1.4 ms, and evaluation at ~1/2.7 of that = 0.5 ms per image. Relative cost of the
# other models (bf16, measured, noisy): LRLC rank 1/2/4 ~1/1.3/2.5x (all layers: 1/1.6/4.8x),
# input-dependent rank 4 ~3x, lc3 ~6x, ns3 ~5x to train and ~12x to evaluate. Summed over the
# grids below this is ~340 conv-equivalent trainings and ~360 evaluations over 3 seeds.
# Per conv-equivalent run: 5 epochs x 3,000 images x 1.4 ms = 21 s of training, and
# (5 x 4,800 validation + 3,000 train + 10,000 test + 4,800 val) x 0.5 ms = 21 s of
# evaluation (full validation and test splits; the trainer evaluates them all).
# Total ~ 340 x 21 + 360 x 21 s ~ 4.1 h on an idle machine. Measured on 2026-11-24
# (docs/results/cpu/): MNIST 45 min, Fashion-MNIST about 50 over two sessions, each
# translated sweep 12, so about 2 h in all; a resumed run loses at most one epoch. The
# translated sweeps test only fixed vs input-dependent weights (Table 3).
# The records in docs/results/cpu/ were trained in bf16 (a CPU with native bf16); the preset
# now takes the precision from the machine (--precision), so on an AVX2-only CPU it trains in
# fp32, in other run folders.
CPU_SETTINGS = dict(train_size=3000, epochs=5, warmup_epochs=1, batch_size=128)
CPU_MODELS = ("conv", "conv_sb3", "coordconv", "lrlc1", "lrlc2", "lrlc3", "lrlcall")
CPU_MODELS += ("lrlc3_id", "lc3", "wide3", "ns3")
CPU_TRANSLATED_MODELS = ("conv", "lrlc3", "lrlc3_id")
CPU_TRANSLATE = 4
CPU = Preset(
    "cpu",
    "MNIST and Fashion-MNIST (+ both translated by up to 4 px) at a reduced protocol, 3 seeds; "
    "about 2 hours on 2 CPU cores with native bf16 (measured), more in float32 (not measured)",
    tuple(
        SweepPlan(
            name + (f"_t{shift}" if shift else ""),
            name,
            CPU_TRANSLATED_MODELS if shift else CPU_MODELS,
            (1, 2, 4),
            (0, 1, 2),
            dict(CPU_SETTINGS, translate=shift),
        )
        # Each data set's translated sweep right after it: an interrupted reproduction then
        # has every claim on MNIST before it starts on Fashion-MNIST.
        for name in ("mnist", "fashion_mnist")
        for shift in (0, CPU_TRANSLATE)
    ),
)

# The full protocol (150 epochs, batch 512, 10 seeds): 1,800 runs, for GPUs or a Ray cluster.
PAPER = Preset(
    "paper",
    "the paper's full protocol: MNIST, CIFAR-10, CelebA; all models, ranks 1-16, 10 seeds",
    tuple(
        SweepPlan(name, name, PAPER_MODELS, (1, 2, 4, 8, 16), tuple(range(10)))
        for name in ("mnist", "cifar10", "celeba32")
    ),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (DEMO, SMOKE, CPU, CONVERGED, PAPER)}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown reproduce preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]

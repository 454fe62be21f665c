"""The `converged` preset (issue 17): the paper's claims where every model fits its training
set, the rank grid is wide enough for validation to choose inside it, and unaligned data is
really unaligned (28 x 28 images at random positions on a 42 x 42 canvas).

Budget: about 16 hours of wall time on 2 cores of an AVX2-only AMD EPYC in float32 (2 worker
processes of 1 thread each), estimated from measured per-image times with
`python -m lrlc.experiments.reproduce.budget`; the measurement, the estimate and what was
trimmed to fit are in docs/results/converged/README.md. The protocol trains on a fixed
stratified subset of each training set, long enough that the convolution (the slowest model to
fit) reaches 99% training accuracy on MNIST; validation runs only after the last epoch (the
rank is chosen on it), so evaluation is the final validation, training and test passes.
"""

from __future__ import annotations

from ..report.linked import CENTRED_CANVAS, FULL_COMBINING, INIT_RANDOM, RANDOM_CANVAS
from .plans import Preset, SweepPlan

# The protocol: Adam at the paper's peak lr 0.01, 1 warm-up epoch then cosine decay to 0.
# 24 epochs of 800 images at batch 32 (600 steps) took the convolution to 99.5% training
# accuracy on MNIST (2 seeds); 20 epochs of 1,000 images (625 steps) to only 98.7-98.8.
CONVERGED_SETTINGS = dict(
    train_size=800, epochs=24, batch_size=32, warmup_epochs=1, val_every=0, precision="fp32"
)
SEEDS = (0, 1, 2, 3, 4)
ABLATION_SEEDS = (0, 1, 2)
CANVAS_SEEDS = (0, 1, 2)
CANVAS = 42
# Digits at random positions take longer to fit: a probe of the convolution on the random
# canvas (800 images, batch 32, 1 thread) reached 95.1% training accuracy after 24 epochs and
# 99.9% after 48 (test 91.6 and 94.4%). The canvas pair trains for 48 epochs, both halves
# alike, and its rows are compared only with each other (`link_protocol`).
CANVAS_EPOCHS = 48

# Every row of the paper's Tables 1-3 (and Supp. Table 4's wide convolution of the 3rd layer),
# the non-stationary layer, in the paper's order.
MODELS = ("conv", "conv_sb1", "conv_sb2", "conv_sb3", "conv_sball", "coordconv")
MODELS += ("lrlc1", "lrlc2", "lrlc3", "lrlcall", "lrlc3_id", "lc1", "lc2", "lc3", "wide3", "ns3")
RANKS = (1, 2, 4, 8, 16, 32)  # the 3rd-layer LRLC's grid
# Trimmed to fit the budget: the input-dependent layer (Algorithm 1, cost linear in K) and the
# wide convolution (its 3rd layer K times as wide) would cost 4-8x a convolution per run at
# K = 16 and 32, so they stop at 8. Fixed LRLC in the other placements goes to 16: the
# rank-independent kernel path makes 16 cost about what 8 does (added in session 7, after
# validation chose the largest rank, 8, for the 2nd layer on the first seed). Captions flag a
# row whose validation chose the largest rank run.
MODEL_RANKS = {m: (1, 2, 4, 8, 16) for m in ("lrlc1", "lrlc2", "lrlcall")}
MODEL_RANKS |= {m: (1, 2, 4, 8) for m in ("lrlc3_id", "wide3")}
# Extended per dataset where validation chose the largest rank run (the issue: "extend if
# validation still picks the top"). MNIST, session 8, on seeds 0-2: input-dependent LRLC rose
# at every rank up to 8 (validation 95.17, 95.40, 96.20, 96.30%) and LRLC in all layers chose
# 16 (97.48% against 97.26-97.35 at ranks 2-8, within noise): +5 runs each. Then, on seeds
# 0-2 again, all layers chose 16 inside the grid (32: 97.40%) but the input-dependent layer
# chose 16, the new top (96.65% against 96.30 at 8): it goes to 32 (+5 runs, the dearest of
# the preset: Algorithm 1 at K = 32, about 17 minutes each on 1 thread). The wide
# convolution also chose its largest width (8), but it is a baseline, not an LRLC placement,
# and 16 would cost about 2x the input-dependent run; its row keeps the flag.
# Session 10, all 5 seeds in: the 2nd layer chose 16, its top (97.25% against 97.22 at 4,
# within noise), so it goes to 32 (+5 runs, about 4 minutes each: the kernel path); it chose
# 32 (97.34%), the top again on a flat curve (97.10-97.34 from rank 4 on), so once more to 64
# (+5 runs): 64 came out lower (97.14%), so 32 is chosen inside the grid. The
# input-dependent layer chose 32, the top for the third time (96.70% against 96.50 at 16); it
# stops there (64 would cost about 4.3 h of machine time, Algorithm 1 at K = 64), as its
# verdict cannot turn on it: it trails the fixed layer by 0.95 points on validation and gains
# about 0.2 per doubling of the rank.
EXTENDED_RANKS = {
    "mnist": {
        "lrlc2": (1, 2, 4, 8, 16, 32, 64),
        "lrlc3_id": (1, 2, 4, 8, 16, 32),
        "lrlcall": (1, 2, 4, 8, 16, 32),
    },
    # Session 15, on seed 0 alone (not seeds 0-2 as for MNIST): LRLC in the 1st layer and the
    # input-dependent layer rose at every rank of their grids (validation 81.83, 81.90, 81.98,
    # 82.21, 82.52% at 1-16; 80.90, 81.02, 81.73, 82.58% at 1-8), a trend rather than noise,
    # and their runs are short (1.7 and 4.4 minutes at the top ranks). The 2nd and 3rd layers
    # also chose their tops (16: 84.73% against 84.31 at 4; 32: 85.83 against 85.50 at 4) on
    # flat curves: they wait for seeds 0-2. Later the same session, with seeds 0-1 in: the 1st
    # layer chose 16 inside its grid (32: 82.02, 82.21% against 82.52, 82.69 at 16); the 2nd
    # and 3rd layers chose their tops on both seeds (16: 84.73, 85.15% against 84.31, 84.65 at
    # 4; 32: 85.83, 86.00 against 85.44, 85.54 at 16), so they go to 32 and 64 (kernel path:
    # 2-8 minutes a run); the input-dependent layer chose 16, its new top, on seed 0 (82.88%
    # against 82.58 at 8) and waits for seeds 0-2 (32 is Algorithm 1 at K = 32, 20+ minutes).
    # Session 16, seeds 0-1 in: it chose 16 on both (82.88, 83.79% against 82.58, 83.02 at 8;
    # means 83.34 against 82.80), a lead that seed 2 would have to reverse by over a point, so
    # it goes to 32 now rather than after the rest of the sweep: MNIST's grid for this layer.
    # Later in session 16, seeds 0-2 in: the 2nd layer chose 32, its top, again (means 85.11%
    # against 84.93 at 16 and 84.65 at 4; seed 2 tied 4 and 32 at 84.98), so it goes to 64 as
    # it did on MNIST (+5 runs, 3-5 minutes each on the kernel path).
    "fashion_mnist": {
        "lrlc1": (1, 2, 4, 8, 16, 32),
        "lrlc2": (1, 2, 4, 8, 16, 32, 64),
        "lrlc3": (1, 2, 4, 8, 16, 32, 64),
        "lrlc3_id": (1, 2, 4, 8, 16, 32),
    },
}
EXTENDED_NOTES = {
    "mnist": (
        " Extended after validation chose the largest rank on seeds 0-2: input-dependent "
        "LRLC to rank 32 (twice: 16 was the top again), LRLC in all layers to 32, then, "
        "with all 5 seeds in, LRLC in the 2nd layer to 32 and, as it chose 32, to 64 "
        "(97.14%, below 32's 97.34: the choice is inside the grid). Input-dependent LRLC chose 32, "
        "the top, a third time (validation 96.70% against 96.50 at 16) and stops there: it "
        "trails the fixed layer by 0.95 points and gains about 0.2 per doubling, so rank 64 "
        "(about 4.3 h of machine time) could not change the aligned-data verdict."
    ),
    "fashion_mnist": (
        " Extended after validation on seed 0 rose at every rank of the grid: LRLC in the 1st "
        "layer to rank 32 (81.83-82.52% at ranks 1-16), input-dependent LRLC to 16 "
        "(80.90-82.58% at 1-8); then, on seeds 0-1, the 2nd layer to 32 and the 3rd to 64, "
        "each having chosen its top on both seeds. The 1st layer's 32 came out below 16. "
        "Input-dependent LRLC to 32 after it chose 16 on seeds 0-1 (83.34% mean against 82.80 "
        "at 8); the 2nd layer to 64 after it chose 32 on seeds 0-2 (85.11% against 84.93 at 16)."
    ),
}
# At rank 1 the combining weights are 1 whatever their init or form, so the ablations start at 2.
ABLATION_RANKS = (2, 4, 8, 16, 32)
# Extended like the main sweeps' grids. Session 17, all 3 seeds in: Fashion-MNIST's full
# (per-position) combining weights chose rank 32, the top, on a rising curve (validation
# 84.44, 84.62, 84.78% at 8, 16, 32), as the main sweep's 3rd layer did before its grid went
# to 64: +3 runs at 64 (2-5 minutes each on the kernel path).
ABLATION_EXTENDED_RANKS = {"fashion_mnist_full_combining": (2, 4, 8, 16, 32, 64)}
ABLATION_EXTENDED_NOTES = {
    "fashion_mnist_full_combining": (
        " Extended to rank 64 after validation chose 32, the top, on all 3 seeds (84.78% "
        "against 84.62 at 16)."
    )
}
CANVAS_MODELS = ("conv", "lrlc3", "lrlc3_id")
# Both halves of the pair keep one grid, so that misalignment is the only difference. Session
# 13: on the centred canvas, with its 3 seeds in, the fixed LRLC chose rank 8, its top
# (validation 97.80% against 97.78 at 4: within noise, but at the top), so both halves go to
# rank 16 (+3 runs each, about what rank 8 costs on the kernel path). It chose 16, the top
# again, on a flat curve (97.78, 97.80, 97.84% at ranks 4, 8, 16), so once more to 32, which
# came out at 97.83%: 16 is chosen inside the grid.
CANVAS_RANKS = {"lrlc3": (1, 2, 4, 8, 16, 32), "lrlc3_id": (1, 2, 4)}
CANVAS_NOTE = (
    " Canvas pair: fixed LRLC extended to rank 16 after validation chose 8, the top, on the "
    "centred canvas (97.80% against 97.78 at rank 4), then to 32 as it chose 16 (97.84%); "
    "32 came out at 97.83%, so 16 is chosen inside the grid."
)


# Said in every caption of the preset's reports.
NOTE = (
    "Preset 'converged' (issue 17), trimmed to fit about 16 hours on 2 CPU cores (float32): "
    "ranks 1-16, not 32, for LRLC in the 1st, 2nd and all layers, 1-8 for input-dependent "
    "LRLC and for the wide convolution (the 3rd-layer LRLC has 1-32); the ablations (ranks "
    "2-32) and the canvas pair (input-dependent LRLC at ranks 1-4) have 3 seeds, not 5; the "
    "canvas pair trains 48 epochs, not 24 (random positions take longer to fit)."
)


def _dataset_sweeps(dataset: str) -> tuple[SweepPlan, ...]:
    """The main sweep of one dataset and its two ablations on the 3rd-layer LRLC."""
    settings = dict(CONVERGED_SETTINGS)
    ranks = MODEL_RANKS | EXTENDED_RANKS.get(dataset, {})
    note = NOTE + EXTENDED_NOTES.get(dataset, "")
    main = SweepPlan(dataset, dataset, MODELS, RANKS, SEEDS, settings, ranks, note=note)
    ablations = tuple(
        _ablation(dataset, suffix, options, label, settings)
        for suffix, options, label in (
            ("init_random", {"init": "random"}, INIT_RANDOM),  # Supp. Fig. 1
            ("full_combining", {"combining": "full"}, FULL_COMBINING),  # Supp. Fig. 2
        )
    )
    return (main, *ablations)


def _ablation(dataset: str, suffix: str, options: dict, label: str, settings: dict) -> SweepPlan:
    """One ablation of the 3rd-layer LRLC: its own layer options, linked to the main sweep."""
    name = f"{dataset}_{suffix}"
    return SweepPlan(
        name,
        dataset,
        ("lrlc3",),
        ABLATION_EXTENDED_RANKS.get(name, ABLATION_RANKS),
        ABLATION_SEEDS,
        dict(settings, layer_kwargs=options),
        link_to=dataset,
        label=label,
        note=NOTE + ABLATION_EXTENDED_NOTES.get(name, ""),
    )


def _canvas_sweeps(dataset: str) -> tuple[SweepPlan, ...]:
    """The aligned control and the unaligned data: the same images centred, and at random
    positions, on a CANVAS x CANVAS canvas (Table 3, slide 12)."""
    return tuple(
        SweepPlan(
            f"{dataset}_canvas_{placement}",
            dataset,
            CANVAS_MODELS,
            (1,),
            CANVAS_SEEDS,
            dict(CONVERGED_SETTINGS, canvas=f"{placement}:{CANVAS}", epochs=CANVAS_EPOCHS),
            CANVAS_RANKS,
            link_to=dataset,
            label=label,
            note=NOTE + CANVAS_NOTE,
            link_protocol=("epochs",),
        )
        for placement, label in (("centre", CENTRED_CANVAS), ("random", RANDOM_CANVAS))
    )


# MNIST first with its canvas pair, so that an interrupted reproduction has every claim on one
# dataset before it starts on the next.
CONVERGED = Preset(
    "converged",
    "every model fitted (MNIST >= 99% training accuracy): MNIST and Fashion-MNIST with all "
    "models, ranks up to 32, 5 seeds, both ablations, and MNIST centred vs at random on a "
    f"{CANVAS}x{CANVAS} canvas; about 16 hours on 2 CPU cores in float32 (estimated)",
    _dataset_sweeps("mnist") + _canvas_sweeps("mnist") + _dataset_sweeps("fashion_mnist"),
)

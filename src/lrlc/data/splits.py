"""Class-stratified subsets and validation splits: the same draw for every loader (in memory
or streamed from disk), so that a split never depends on how the images are read."""

from __future__ import annotations

import numpy as np

OWN_VAL_FRACTION = 0.10  # validation held out of the training images of npz:/folder: data
VAL_SEED = 0  # fixed: the validation split never changes with the data or run seeds


def stratified_subset(
    labels: np.ndarray, size: int, *, seed: int = 0, num_classes: int | None = None
) -> np.ndarray:
    """Sorted indices of a class-stratified subset of `size` examples of labels (N,).

    Per-class counts are proportional to the class frequencies, rounded by largest remainder so
    they sum to `size` exactly (ties: lower class first). Within a class the examples are the
    first ones of a permutation drawn from `seed`, so growing `size` mostly adds examples.
    """
    classes, counts = np.unique(labels, return_counts=True)
    total = len(labels)
    needed = num_classes if num_classes is not None else len(classes)
    if size > total:
        raise ValueError(f"train_size={size} exceeds the {total} training examples available")
    if size < needed:
        raise ValueError(f"train_size={size} is smaller than the number of classes ({needed})")
    return _draw(labels, classes, _quotas(counts, size), seed)


def stratified_split(
    labels: np.ndarray, fraction: float, *, seed: int = VAL_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices (kept, held_out) of labels (N,): held_out is a stratified `fraction`.

    round(fraction * N) examples are held out, per class in proportion to its frequency
    (largest remainder, as `stratified_subset`, whose draw this is), except that every class
    keeps at least one example. Fixed by `seed`: the same labels always give the same split.
    """
    size = int(round(fraction * len(labels)))
    classes, counts = np.unique(labels, return_counts=True)
    quotas = np.minimum(_quotas(counts, size), counts - 1) if size else counts * 0
    if quotas.sum() == 0:
        raise ValueError(
            f"{len(labels)} training examples are too few to hold out {fraction:.0%} of them for "
            "validation (each class keeps at least one); add training images, or give a "
            "validation split (x_val, y_val in an .npz; val/ beside test/ in a folder)"
        )
    held_out = _draw(labels, classes, quotas, seed)
    return np.setdiff1d(np.arange(len(labels)), held_out), held_out


def subset_protocol(
    train_size: int | None, subset_seed: int, translate: int, seed: int
) -> dict[str, object]:
    """What the training subset and the shifts were, as a dataset's protocol records them (in
    memory and streamed alike, so both name the same draw the same way)."""
    return dict(
        train_size=train_size,
        subset_seed=subset_seed if train_size is not None else None,
        translate=translate,
        translate_seed=seed if translate else None,
        translate_fill="raw pixel 0 (background/black), applied before scaling",
    )


def _quotas(counts: np.ndarray, size: int) -> np.ndarray:
    """Per-class counts proportional to `counts` summing to `size`, by largest remainder."""
    # Integer arithmetic: exact quotas and remainders, no float ties.
    quotas, remainders = np.divmod(size * counts, counts.sum())
    extra = size - int(quotas.sum())
    quotas[np.argsort(-remainders, kind="stable")[:extra]] += 1
    return quotas


def _draw(labels: np.ndarray, classes: np.ndarray, quotas: np.ndarray, seed: int) -> np.ndarray:
    """Sorted indices: the first quotas[i] of a seeded permutation of each class's examples."""
    rng = np.random.default_rng(seed)
    chosen = [
        rng.permutation(np.flatnonzero(labels == c))[:q]
        for c, q in zip(classes, quotas, strict=True)
    ]
    return np.sort(np.concatenate(chosen))

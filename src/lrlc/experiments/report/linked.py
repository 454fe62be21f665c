"""Rows from other sweeps in one dataset's report: the ablations (the same model with other
layer options) and the canvas pair (the same models on other data).

A sweep holds one set of layer options per model and one dataset, so the ablations and the
canvas pair are sweeps of their own. The report of the main sweep takes their models as extra
rows keyed `MODEL@LABEL` ("lrlc3@init random"), chosen on validation like every row, and its
claims compare them with the main rows. A linked sweep must share the main sweep's training
protocol, else its rows would compare protocols rather than layers. A link may name fields of
the protocol in which it differs (`own_protocol`: the canvas pair trains longer, because
images at random positions take longer to fit); such links must then agree among themselves,
and their rows are compared only with each other (the claims do), never with the main rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...models import paper_row, uses_rank
from .results import (
    ModelSummary,
    ReportError,
    SweepSetting,
    check_setting,
    load_runs,
    planned_runs,
    summarize,
)

# The labels of the rows the claims compare (and the reproduce presets link).
INIT_RANDOM = "init random"  # Supp. Fig. 1: random instead of constant combining logits
FULL_COMBINING = "full combining"  # Supp. Fig. 2: one free logit per basis and position
CENTRED_CANVAS = "centred canvas"  # the aligned control of the canvas pair
RANDOM_CANVAS = "random canvas"  # the unaligned data of the canvas pair

# What a linked sweep must share with the main one (the rest: options, canvas, translation).
SHARED = ("dataset", "epochs", "batch_size", "lr", "warmup_epochs", "weight_decay")
SHARED += ("train_size", "width", "data_seed", "preset", "precision")


@dataclass(frozen=True)
class Linked:
    """Another sweep folder whose models join a report as rows `MODEL@label`."""

    label: str
    folder: Path
    own_protocol: tuple[str, ...] = ()  # SHARED fields in which it may differ from the main


def row_key(model: str, label: str | None = None) -> str:
    return model if not label else f"{model}@{label}"


def split_key(key: str) -> tuple[str, str | None]:
    """'lrlc3@init random' -> ('lrlc3', 'init random'); 'lrlc3' -> ('lrlc3', None)."""
    model, sep, label = key.partition("@")
    return model, (label if sep else None)


def row_label(key: str) -> str:
    """The paper's row name, with the linked sweep's label: 'LRLC (3RD LAYER) [init random]'."""
    model, label = split_key(key)
    return paper_row(model) + (f" [{label}]" if label else "")


def key_uses_rank(key: str) -> bool:
    return uses_rank(split_key(key)[0])


def linked_summaries(
    links: Sequence[Linked], main: SweepSetting, allow_mixed_precision: bool = False
) -> tuple[dict[str, ModelSummary], dict[str, SweepSetting]]:
    """Per `MODEL@label` key its summary, and per label its sweep's setting.

    A linked folder without finished runs yet is left out (a reproduction in progress); one of
    another protocol is a ReportError that names the difference.
    """
    rows: dict[str, ModelSummary] = {}
    settings: dict[str, SweepSetting] = {}
    groups: dict[tuple[str, ...], tuple[str, dict[str, object]]] = {}
    for link in links:
        if not (Path(link.folder) / "runs").is_dir():
            continue
        try:
            runs = load_runs(link.folder, skipped=[])
        except ReportError:
            continue  # nothing finished there yet
        setting = check_setting(runs, allow_mixed_precision)
        setting = dataclasses.replace(setting, runs_planned=planned_runs(link.folder))
        differs = {
            k: (main.config.get(k), setting.config.get(k))
            for k in SHARED
            if k not in link.own_protocol and main.config.get(k) != setting.config.get(k)
        }
        if differs:
            what = ", ".join(f"{k}: {a!r} here, {b!r} there" for k, (a, b) in differs.items())
            raise ReportError(
                f"the linked sweep {link.folder} ({link.label}) has another protocol ({what}); "
                "link only sweeps trained like the main one"
            )
        if link.own_protocol:  # the links that share an own protocol must agree on it
            own = {k: setting.config.get(k) for k in link.own_protocol}
            first, agreed = groups.setdefault(link.own_protocol, (link.label, own))
            if own != agreed:
                raise ReportError(
                    f"the linked sweeps [{first}] and [{link.label}] differ in {agreed} vs "
                    f"{own}, the protocol they share apart from the main sweep"
                )
        settings[link.label] = setting
        for model, summary in summarize(runs).items():
            rows[row_key(model, link.label)] = summary
    return rows, settings


def linked_caption(settings: dict[str, SweepSetting], main: SweepSetting | None = None) -> str:
    """What each label's rows are: their data and layer options, any protocol of their own
    (against `main`), and how many runs finished."""
    if not settings:
        return ""
    parts, any_own = [], False
    for label, s in settings.items():
        options = f", layer options {s.layer_options}" if s.layer_options else ""
        own = [] if main is None else [
            f"{k} {s.config.get(k)!r} (main sweep: {main.config.get(k)!r})"
            for k in SHARED
            if s.config.get(k) != main.config.get(k)
        ]  # fmt: skip
        if own:
            options += ", trained with " + ", ".join(own) + ", compared only with such rows"
            any_own = True
        parts.append(f"[{label}]: {s.name}{options}.{s.runs_text()}")
    same = " unless said" if any_own else ""
    return f" Rows marked [label] come from linked sweeps of the same protocol{same}: " + " ".join(
        parts
    )

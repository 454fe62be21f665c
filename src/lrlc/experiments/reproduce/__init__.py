"""Named reproductions: one or more sweeps, then one report per sweep.

`lrlc reproduce --preset NAME --out DIR` runs the preset's sweeps in order into DIR/<sweep>/
(each resumable, see `lrlc.experiments.sweep`) and writes DIR/report/<sweep>/. The presets are
in `presets.py` (and `converged.py`); `budget.py` estimates a preset's machine time from
measured run times.
"""

from .converged import CONVERGED
from .plans import Preset, SweepPlan
from .presets import CPU, DEMO, PAPER, PAPER_MODELS, PRESETS, SMOKE, get_preset
from .runner import reproduce

__all__ = [
    "CONVERGED",
    "CPU",
    "DEMO",
    "PAPER",
    "PAPER_MODELS",
    "PRESETS",
    "SMOKE",
    "Preset",
    "SweepPlan",
    "get_preset",
    "reproduce",
]

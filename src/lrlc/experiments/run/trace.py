"""Hooks for the tests of distributed runs, set by environment variables (never by a flag).

- `LRLC_TRACE_DIR=DIR`: each process appends the training-split indices of every batch it
  trains on to `DIR/rank<R>.jsonl` ({"epoch", "step", "indices"} per line), so a test can see
  that the processes read disjoint shards that together make each global batch.
- `LRLC_STOP_AFTER_EPOCH=E`: after epoch E is checkpointed, the run stops as if interrupted
  (KeyboardInterrupt, exit 130), so a test can resume it deterministically, where killing a
  process at the right moment would be a race.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from torch import Tensor

TRACE_ENV = "LRLC_TRACE_DIR"
STOP_ENV = "LRLC_STOP_AFTER_EPOCH"


class Trace:
    """The hooks of one process; each does nothing unless its variable is set."""

    def __init__(self, rank: int) -> None:
        folder = os.environ.get(TRACE_ENV)
        self.path = Path(folder) / f"rank{rank}.jsonl" if folder else None
        stop = os.environ.get(STOP_ENV)
        self.stop_after = int(stop) if stop else None

    def saw(self, epoch: int, step: int, indices: Tensor) -> None:
        if self.path is not None:
            line = {"epoch": epoch, "step": step, "indices": indices.tolist()}
            with open(self.path, "a") as f:
                f.write(json.dumps(line) + "\n")

    def epoch_saved(self, epochs_done: int) -> None:
        if self.stop_after is not None and epochs_done >= self.stop_after:
            raise KeyboardInterrupt(f"{STOP_ENV}={self.stop_after}")

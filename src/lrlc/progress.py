"""What a run shows while it trains: a bar on a terminal, plain lines in a log, warnings."""

from __future__ import annotations

import sys
import time
from typing import Any

# In a log (no terminal) a long epoch still shows signs of life this often.
LOG_EVERY_S = 30.0


def warn(message: str) -> None:
    """One warning line on stderr, where it is seen beside the progress."""
    print(f"lrlc: warning: {message}", file=sys.stderr, flush=True)


class Progress:
    """A tqdm bar per epoch on a terminal; in a log, a line every LOG_EVERY_S seconds within
    an epoch and one line per epoch, so that a slow epoch never looks like a hang."""

    def __init__(self, total_epochs: int, steps: int, enabled: bool | None) -> None:
        self.tty = sys.stderr.isatty() if enabled is None else enabled
        self.quiet = enabled is False  # sweeps' worker processes: epoch lines only
        self.total_epochs, self.steps = total_epochs, steps
        self.bar = None
        self.epoch, self.done, self.t0, self.last_log = 0, 0, 0.0, 0.0

    def start_epoch(self, epoch: int) -> None:
        self.epoch, self.done = epoch, 0
        self.t0 = self.last_log = time.monotonic()
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.steps,
                desc=f"epoch {epoch + 1}/{self.total_epochs}",
                leave=False,
                dynamic_ncols=True,
            )

    def step(self, loss: float) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.3f}")
            return
        now = time.monotonic()
        if not self.quiet and now - self.last_log >= LOG_EVERY_S:
            self.last_log = now
            rate = self.done / max(now - self.t0, 1e-9)
            left = (self.steps - self.done) / max(rate, 1e-9)
            print(
                f"epoch {self.epoch + 1}/{self.total_epochs}: step {self.done}/{self.steps}, "
                f"loss {loss:.4f}, {rate:.2f} steps/s, epoch's training ETA {left / 60:.1f} min",
                flush=True,
            )

    def end_epoch(self, row: dict[str, Any], eta_s: float) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        print(
            f"epoch {row['epoch']}/{self.total_epochs}  loss {row['train_loss']:.4f}  "
            f"train_acc {row['train_acc']:.2f}  val_acc {row['val_acc']:.2f}  "
            f"{row['epoch_time_s']:.1f}s (evaluation {row['eval_time_s']:.1f}s)  "
            f"ETA {eta_s / 60:.1f} min",
            file=sys.stderr if self.tty else sys.stdout,
            flush=True,
        )

"""What runs and sweeps show while they train: a bar on a terminal, plain lines in a log,
one line per finished run of a sweep, and warnings. The one place that prints progress."""

from __future__ import annotations

import sys
import time
from typing import Any

from ..models import uses_rank

# In a log (no terminal) a long epoch still shows signs of life this often.
LOG_EVERY_S = 30.0


def warn(message: str) -> None:
    """One warning line on stderr, where it is seen beside the progress."""
    print(f"lrlc: warning: {message}", file=sys.stderr, flush=True)


class EpochProgress:
    """A tqdm bar per epoch on a terminal; in a log, a line every LOG_EVERY_S seconds within
    an epoch and one line per epoch, so that a slow epoch never looks like a hang. Both show
    images/s and the epoch's ETA when told the images per epoch (`images`)."""

    def __init__(
        self, total_epochs: int, steps: int, enabled: bool | None, images: int | None = None
    ) -> None:
        self.tty = sys.stderr.isatty() if enabled is None else enabled
        self.quiet = enabled is False  # sweeps' worker processes: epoch lines only
        self.total_epochs, self.steps, self.images = total_epochs, steps, images
        self.bar = None
        self.epoch, self.done, self.seen, self.t0, self.last_log = 0, 0, 0, 0.0, 0.0

    def start_epoch(self, epoch: int) -> None:
        self.epoch, self.done, self.seen = epoch, 0, 0
        self.t0 = self.last_log = time.monotonic()
        if self.tty:
            from tqdm import tqdm

            # Counted in images when their number is known: tqdm then shows img/s and ETA.
            self.bar = tqdm(
                total=self.images or self.steps,
                unit="img" if self.images else "it",
                unit_scale=bool(self.images),
                desc=f"epoch {epoch + 1}/{self.total_epochs}",
                leave=False,
                dynamic_ncols=True,
            )

    def step(self, loss: float, images: int | None = None) -> None:
        """One training step done, on `images` images (all processes together)."""
        self.done += 1
        self.seen += images or 0
        if self.bar is not None:
            self.bar.update(images if self.images and images else 1)
            self.bar.set_postfix(loss=f"{loss:.3f}")
            return
        now = time.monotonic()
        if not self.quiet and now - self.last_log >= LOG_EVERY_S:
            self.last_log = now
            rate = self.done / max(now - self.t0, 1e-9)
            left = (self.steps - self.done) / max(rate, 1e-9)
            speed = f"{self.seen / max(now - self.t0, 1e-9):.1f} images/s" if self.seen else ""
            print(
                f"epoch {self.epoch + 1}/{self.total_epochs}: step {self.done}/{self.steps}, "
                f"loss {loss:.4f}, {rate:.2f} steps/s{', ' + speed if speed else ''}, "
                f"epoch's training ETA {left / 60:.1f} min",
                flush=True,
            )

    def end_epoch(self, row: dict[str, Any], eta_s: float) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        # Epochs without validation (TrainConfig.val_every) have no val_acc.
        val = f"val_acc {row['val_acc']:.2f}  " if "val_acc" in row else ""
        evaluation = f" (evaluation {row['eval_time_s']:.1f}s)" if "eval_time_s" in row else ""
        print(
            f"epoch {row['epoch']}/{self.total_epochs}  loss {row['train_loss']:.4f}  "
            f"train_acc {row['train_acc']:.2f}  {val}"
            f"{row['epoch_time_s']:.1f}s{evaluation}  "
            f"ETA {eta_s / 60:.1f} min",
            file=sys.stderr if self.tty else sys.stdout,
            flush=True,
        )


def _fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    return f"{h}h{rem // 60:02d}m" if h else f"{rem // 60}m{rem % 60:02d}s"


class SweepProgress:
    """'[done/total] ... ETA' lines; the ETA uses this session's wall time per finished run."""

    def __init__(self, total: int, done: int, pending: int) -> None:
        self.total, self.done, self.pending = total, done, pending
        self.ran, self.failed = 0, []
        self.t0 = time.monotonic()

    def __call__(self, job: Any, result: dict | None, seconds: float, error: str | None) -> None:
        c = job.config
        self.ran += 1
        rank = f" rank {c.rank}" if uses_rank(c.model) else ""
        what = f"{c.model}{rank} seed {c.seed}"
        if error is None:
            self.done += 1
            m = result["metrics"]
            outcome = f"val {m['val_acc']:.2f} test {m['test_acc']:.2f}"
        else:
            self.failed.append((job, error))
            outcome = f"FAILED: {error}"
        left = self.pending - self.ran
        eta = (time.monotonic() - self.t0) / self.ran * left
        print(
            f"[{self.done}/{self.total}] {what}: {outcome} ({seconds:.0f}s)  "
            f"{left} to go, ETA {_fmt_duration(eta)}",
            flush=True,
        )

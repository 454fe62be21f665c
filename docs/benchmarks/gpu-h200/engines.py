"""The locally connected product's engines on a GPU, forward + backward (session 15).

Times one training step of each engine against one `nn.Conv2d(64, 64, 3)` step in the same
run (64 -> 64 channels, 3x3, 24x24 'valid'): the row engines the CPU paths use, the tap by tap
form (`locally_connected_by_taps`) and the patch form (`locally_connected_by_patches`), each
on a given per-position weight (`LocallyConnected2d`) and on the LRLC kernel path's (the
weight built from K bases by Eq. 2 inside the step). Medians of 20 steps after 5 warm-ups,
CUDA-synchronised; peak memory of one step. Usage: python engines.py [--quick]
"""

import statistics
import sys
import time

import torch

from lrlc.functional import per_position_filters
from lrlc.functional._kernel_path import _common_dtype, _LCByRows
from lrlc.functional._ops import locally_connected_by_patches, locally_connected_by_taps

QUICK = "--quick" in sys.argv
DEV = "cuda" if torch.cuda.is_available() else "cpu"
WARM, REPS = (1, 2) if QUICK else (5, 20)
PAD = (0, 0, 0, 0)


def rows(x, w):
    """The CPU's row engine, called past the dispatch that sends GPUs to the patches, in the
    dtype `locally_connected_by_rows` takes (autocast's)."""
    dtype = _common_dtype(x, w)
    with torch.autocast(DEV, enabled=False):
        return _LCByRows.apply(x.to(dtype), w.to(dtype), None, PAD, (1, 1), (1, 1))


ENGINES = {
    "rows": lambda x, w: rows(x, w),
    "taps": lambda x, w: locally_connected_by_taps(x, w, None, (1, 1), PAD, (1, 1)),
    "patches": lambda x, w: locally_connected_by_patches(x, w, None, (1, 1), PAD, (1, 1)),
}


def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def timed(step):
    for _ in range(WARM):
        step()
    sync()
    if DEV == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(REPS):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**20 if DEV == "cuda" else float("nan")
    return statistics.median(times) * 1e3, peak


def main():
    print(f"torch {torch.__version__}, {DEV}",
          torch.cuda.get_device_name() if DEV == "cuda" else "")  # fmt: skip
    print("prec  N    case              K   ms      x conv  peak MiB")
    for prec in ("fp32", "bf16"):
        for n in (8,) if QUICK else (128, 512):
            x = torch.randn(n, 64, 24, 24, device=DEV, requires_grad=True)
            conv = torch.nn.Conv2d(64, 64, 3).to(DEV)

            def run(f):
                def step():
                    with torch.autocast(DEV, torch.bfloat16, enabled=prec == "bf16"):
                        out = f()
                    out.float().sum().backward()

                return timed(step)

            base, _ = run(lambda: conv(x))
            print(f"{prec}  {n:<4} conv              -   {base:<7.2f} 1.00")
            w = torch.randn(22, 22, 64, 64, 3, 3, device=DEV, requires_grad=True)
            for name, engine in ENGINES.items():
                ms, peak = run(lambda engine=engine: engine(x, w))
                print(f"{prec}  {n:<4} lc {name:<14} -   {ms:<7.2f} {ms / base:<7.2f} {peak:.0f}")
            for k in (1,) if QUICK else (4, 16):
                bases = torch.randn(k, 64, 64, 3, 3, device=DEV, requires_grad=True)
                logits = torch.randn(k, 22, 22, device=DEV, requires_grad=True)
                for name, engine in ENGINES.items():

                    def lrlc(engine=engine):
                        return engine(x, per_position_filters(logits.softmax(0), bases))

                    ms, peak = run(lrlc)
                    print(f"{prec}  {n:<4} lrlc {name:<12} {k:<3} {ms:<7.2f} {ms / base:<7.2f} "
                          f"{peak:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()

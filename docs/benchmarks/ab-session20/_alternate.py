"""What the session-20 A/B scripts share (run them as `python docs/benchmarks/ab-session20/X.py`,
which puts this folder on the import path): the same measurement under two checkouts of the
library, in alternating processes (old, new, then new, old, ...), so that a drift of the VM's
speed meets both."""

import os
import statistics
import subprocess
import sys


def alternate(old_src: str, new_src: str, child: str, args: list[str], rounds: int) -> dict:
    """Run `python -c child *args` with PYTHONPATH=old_src / new_src in turn for `rounds`
    rounds; each child prints numbers on its last line. Returns {"old": [...], "new": [...]},
    one list of numbers per run, and prints each as it comes."""
    res = {"old": [], "new": []}
    order = (("old", old_src), ("new", new_src))
    for r in range(rounds):
        for name, src in order if r % 2 == 0 else order[::-1]:
            env = dict(os.environ, PYTHONPATH=src)
            out = subprocess.run([sys.executable, "-c", child, *args], env=env,
                                 capture_output=True, text=True, check=True)  # fmt: skip
            values = list(map(float, out.stdout.strip().splitlines()[-1].split()))
            res[name].append(values)
            print(f"round {r} {name}: {' '.join(f'{v:.3f}' for v in values)}")
    return res


def medians(runs: list[list[float]]) -> list[float]:
    """The median of each column of `alternate`'s runs."""
    return [statistics.median(col) for col in zip(*runs)]


def neighbour_ratios(once, case, yardstick, reps: int) -> str:
    """In a child process: `once(f)` times one call of f (seconds). After two warm-up calls of
    each, `reps` calls of `case` interleaved with calls of `yardstick`; each ratio is a case
    call's time over the mean of the yardstick calls just before and after it (the VM's
    speed drifts within seconds, and a ratio of neighbours follows it). Returns the line
    `alternate` reads: median case ms, median yardstick ms, median ratio."""
    for f in (yardstick, case, yardstick, case):
        once(f)
    cs, ss = [once(yardstick)], []
    for _ in range(reps):
        ss.append(once(case))
        cs.append(once(yardstick))
    ratios = [s / ((a + b) / 2) for s, a, b in zip(ss, cs, cs[1:])]
    step_ms, conv_ms = statistics.median(ss) * 1e3, statistics.median(cs) * 1e3
    return f"{step_ms:.2f} {conv_ms:.2f} {statistics.median(ratios):.4f}"

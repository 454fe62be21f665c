"""The timer the session-17 scripts share (run them as `python docs/benchmarks/ab-session17/X.py`,
which puts this folder on the import path)."""

import time


def median_s(f, n=7):
    """Median wall time of f() in seconds over n calls, after two warm-up calls."""
    f()
    f()
    ts = []
    for _ in range(n):
        s = time.perf_counter()
        f()
        ts.append(time.perf_counter() - s)
    return sorted(ts)[n // 2]

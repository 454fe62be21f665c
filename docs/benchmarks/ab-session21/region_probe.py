"""Session 21: is the VM's slow state (`lrlc.bench.handoff`) a slow fork and join of OpenMP
threads? An empty parallel region (compiled here with cc -fopenmp, torch's OpenMP runtime)
timed beside the hand-off probe, 12 times, 2 s apart; then the region after Python gaps of
0-300 us between calls (threads that had gone to sleep would wake slowly). Usage:
    PYTHONPATH=src python docs/benchmarks/ab-session21/region_probe.py"""

import ctypes
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from lrlc.bench.handoff import handoff_us

SOURCE = """
#include <omp.h>
volatile int sink;
int empty_region(int threads) {
#pragma omp parallel num_threads(threads)
  { sink = omp_get_thread_num(); }
  return 0;
}
"""


def main():
    torch.set_num_threads(2)
    torch.ones(10) @ torch.ones(10)  # torch's OpenMP runtime loaded first, as for lc_bmm.c
    folder = Path(tempfile.mkdtemp())
    (folder / "e.c").write_text(SOURCE)
    lib_path = folder / "e.so"
    subprocess.run(["cc", "-O2", "-fopenmp", "-shared", "-fPIC", str(folder / "e.c"), "-o",
                    str(lib_path)], check=True)  # fmt: skip
    lib = ctypes.CDLL(str(lib_path))

    def region_us(gap_us=0.0, calls=1000):
        total = 0.0
        for _ in range(calls):
            end = time.perf_counter() + gap_us * 1e-6
            while time.perf_counter() < end:
                pass
            t = time.perf_counter()
            lib.empty_region(2)
            total += time.perf_counter() - t
        return total / calls * 1e6

    for _ in range(12):
        print(f"region {region_us():5.1f} us  hand-off {handoff_us():7.1f} us", flush=True)
        time.sleep(2)
    for gap in (0, 5, 20, 50, 100, 300):
        print(f"after a gap of {gap:3d} us: region {region_us(gap, 500):5.1f} us", flush=True)


if __name__ == "__main__":
    main()

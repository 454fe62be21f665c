"""Session 21: the bases packed in panels or not (`panel_width` 0 switches them off), in one
process, step by step alternating, each step's ratio to the mean of its neighbouring
convolution steps; the median ratio and each part's mean ms. Usage:
    PYTHONPATH=src python docs/benchmarks/ab-session21/panels_inproc.py N K [cl] [steps]"""

import statistics
import sys
import time

import torch
from _parts import kernel_path_case, shown, spent, time_parts

import lrlc.functional._basis_rows as basis_rows

WIDTH = basis_rows.panel_width


def main():
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    time_parts()
    m, x, g, name = kernel_path_case()
    conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=torch.channels_last)

    def once(f):
        t = time.perf_counter()
        f(x).backward(g)
        return time.perf_counter() - t

    def packed(on):
        basis_rows.panel_width = WIDTH if on else (lambda: 0)

    for on in (False, True, False, True):
        packed(on)
        once(m)
        once(conv)
    ratios = {False: [], True: []}
    parts = {False: {}, True: {}}
    before = once(conv)
    for r in range(steps):
        for on in (False, True) if r % 2 == 0 else (True, False):
            packed(on)
            spent.clear()
            step, after = once(m), once(conv)
            ratios[on].append(step / ((before + after) / 2))
            before = after
            for k, v in spent.items():
                parts[on][k] = parts[on].get(k, 0.0) + v
    for on in (False, True):
        spent.clear()
        spent.update(parts[on])
        label = "packed" if on else "plain "
        print(name, label, f"ratio {statistics.median(ratios[on]):.3f}", shown(steps))


if __name__ == "__main__":
    main()

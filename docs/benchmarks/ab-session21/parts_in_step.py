"""Session 21: one kernel-path training step split into its parts (ms a step, the mean of 6
steps, each beside a convolution step), in one process. Usage:
    PYTHONPATH=src python docs/benchmarks/ab-session21/parts_in_step.py N K [cl]"""

import time

import torch
from _parts import kernel_path_case, shown, spent, time_parts


def main():
    time_parts()
    m, x, g, name = kernel_path_case()
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else None
    conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt or torch.contiguous_format)
    for _ in range(2):
        m(x).backward(g)
        conv(x).backward(g)
    spent.clear()
    reps, step, conv_s = 6, 0.0, 0.0
    for _ in range(reps):
        t = time.perf_counter()
        m(x).backward(g)
        step += time.perf_counter() - t
        t = time.perf_counter()
        conv(x).backward(g)
        conv_s += time.perf_counter() - t
    print(name, f"step {step / reps * 1e3:.1f} conv {conv_s / reps * 1e3:.1f}", shown(reps))


if __name__ == "__main__":
    main()

"""Session 19: where the kernel path's bf16 training step goes (bf16 autocast, the trainer's
default on CPUs with native bf16; its products are still torch's, through oneDNN): the
torch profiler's operators by self CPU time and input shapes, per step.
Usage: python docs/benchmarks/ab-session19/profile_bf16.py N K [cl]"""

import torch
from _case import kernel_path_case
from torch.profiler import ProfilerActivity, profile


def main():
    m, x, g, label = kernel_path_case()
    g = g.bfloat16()

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = m(x)
        y.backward(g)

    for _ in range(2):
        step()
    steps = 2
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    print(f"{label}, bf16 autocast, {steps} steps; per step:")
    events = prof.key_averages(group_by_input_shape=True)
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:16]:
        shapes = str(e.input_shapes)[:100]
        ms = e.self_cpu_time_total / steps / 1e3
        print(f"  {e.key:24s} {ms:7.1f} ms  {e.count // steps:4d} calls  {shapes}")


if __name__ == "__main__":
    main()

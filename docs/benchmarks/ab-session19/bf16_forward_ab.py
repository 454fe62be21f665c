"""Session 19: the kernel path under bf16 autocast with the compiled kernels (the forward's
row products through the AVX512-BF16 pairs kernel) against torch's products, training step
and inference, beside a convolution's, channels_last, alternating rounds.
Usage: python docs/benchmarks/ab-session19/bf16_forward_ab.py N K"""

import statistics
import sys

import torch
from _case import median_ms

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _native, use_native
from lrlc.layers import LowRankLocallyConnected2d

BF16 = dict(device_type="cpu", dtype=torch.bfloat16)


def main():
    n, k = int(sys.argv[1]), int(sys.argv[2])
    keep_freed_memory()
    torch.set_num_threads(2)
    cl = torch.channels_last
    x = torch.randn(n, 64, 24, 24).to(memory_format=cl).requires_grad_()
    m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
    m, conv = m.to(memory_format=cl), torch.nn.Conv2d(64, 64, 3).to(memory_format=cl)

    def train(mod):
        def step():
            with torch.autocast(**BF16):
                y = mod(x)
            y.float().sum().backward()

        return step

    def infer(mod):
        def step():
            with torch.no_grad(), torch.autocast(**BF16):
                mod(x)

        return step

    with torch.no_grad(), torch.autocast(**BF16):
        with use_native(False):
            ref = m(x).float()
        before = _native.calls
        got = m(x).float()
    diff = (got - ref).abs().max().item()
    print(f"N={n} K={k}: {_native.calls - before} compiled calls in a forward; largest "
          f"difference {diff:.3f} at outputs up to {ref.abs().max().item():.2f}")  # fmt: skip
    names = ["conv train", "torch train", "compiled train", "conv infer", "torch infer",
             "compiled infer"]  # fmt: skip
    times = {name: [] for name in names}
    for _ in range(4):
        times["conv train"].append(median_ms(train(conv), 3))
        times["conv infer"].append(median_ms(infer(conv), 3))
        with use_native(False):
            times["torch train"].append(median_ms(train(m), 3))
            times["torch infer"].append(median_ms(infer(m), 3))
        times["compiled train"].append(median_ms(train(m), 3))
        times["compiled infer"].append(median_ms(infer(m), 3))
    for name, v in times.items():
        base = statistics.median(times["conv " + name.split()[-1]])
        med = statistics.median(v)
        print(f"  {name:15s} {med:7.1f} ms ({med / base:.2f}x conv)")


if __name__ == "__main__":
    main()

"""Which state the VM is in (session 18): the kernel path's filter build, (22, 4) @ (4, 12288),
timed alone, the row product that reads those filters timed alone, and the two in turn. In
the 'slow' state the pair costs 100-200 us more than its parts (the build, run after a
product that read its output buffer, takes about 240 us instead of 60); in the 'fast' state
about what the parts cost. Run: `python docs/benchmarks/ab-session18/probe.py`."""

import time

import torch

torch.set_num_threads(2)
w, bases, filters = torch.rand(22, 4), torch.randn(4, 12288), torch.empty(22, 12288)
patches, out = torch.randn(22, 128, 192), torch.empty(22, 128, 64)


def per_call_us(f, n=100):
    for _ in range(20):
        f()
    s = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - s) / n * 1e6


def build():
    torch.mm(w, bases, out=filters)


def product():
    torch.bmm(patches, filters.view(22, 192, 64), out=out)


def pair():
    build()
    product()


a, b, c = per_call_us(build), per_call_us(product), per_call_us(pair)
extra = c - a - b
state = "slow" if extra > 80 else "fast"
now = time.strftime("%H:%M:%S")
print(f"{now} build {a:.0f} product {b:.0f} pair {c:.0f} us: {extra:+.0f} -> {state}")

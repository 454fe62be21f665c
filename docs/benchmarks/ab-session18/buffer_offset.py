"""Does the slow state follow where the filter buffer lies? (session 18): probe.py's build and
pair with the filters moved by 0-16 KB (0-4096 floats) inside one larger buffer, the offsets
in turn, twice. Run: `python docs/benchmarks/ab-session18/buffer_offset.py`."""

import time

import torch

torch.set_num_threads(2)
w, bases = torch.rand(22, 4), torch.randn(4, 12288)
store = torch.empty(22 * 12288 + 8192)
patches, out = torch.randn(22, 128, 192), torch.empty(22, 128, 64)


def per_call_us(f, n=60):
    for _ in range(10):
        f()
    s = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - s) / n * 1e6


for offset in [0, 1024, 2048, 3072, 4096, 0, 2048, 1024, 4096, 3072] * 2:
    filters = store[offset : offset + 22 * 12288].view(22, 12288)

    def build(filters=filters):
        torch.mm(w, bases, out=filters)

    def pair(filters=filters):
        build(filters)
        torch.bmm(patches, filters.view(22, 192, 64), out=out)

    a, c = per_call_us(build), per_call_us(pair)
    print(f"offset {offset:4d} floats: build {a:4.0f} us, build + product {c:4.0f} us")

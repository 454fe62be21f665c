"""Does the slow state follow where the filter buffer lies? (session 18): the probe of
`lrlc.bench.handoff` with the filters moved by 0-16 KB (0-4096 floats) inside one larger
buffer, the offsets in turn, twice.
Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/buffer_offset.py`."""

import torch

from lrlc.bench.handoff import handoff_parts

torch.set_num_threads(2)
store = torch.empty(22 * 12288 + 8192)
for offset in [0, 1024, 2048, 3072, 4096, 0, 2048, 1024, 4096, 3072] * 2:
    filters = store[offset : offset + 22 * 12288].view(22, 12288)
    build, _, both = handoff_parts(60, filters)
    print(f"offset {offset:4d} floats: build {build:4.0f} us, build + product {both:4.0f} us")

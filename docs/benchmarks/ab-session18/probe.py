"""Which state the VM is in (session 18), with the benchmarks' probe (`lrlc.bench.handoff`):
the kernel path's filter build, (22, 4) @ (4, 12288), timed alone, the row product that
reads those filters timed alone, and the two in turn. In the 'slow' state the pair costs
100-200 us more than its parts; in the 'fast' state about what the parts cost.
Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/probe.py`."""

import time

import torch

from lrlc.bench.handoff import describe, handoff_parts

torch.set_num_threads(2)
build, product, both = handoff_parts()
state = describe(both - build - product)
now = time.strftime("%H:%M:%S")
print(f"{now} build {build:.0f} product {product:.0f} pair {both:.0f} us: {state}")

"""Session 20: the hand-off probe (`lrlc.bench.handoff`) through the compiled kernel: a row's
filter build, (22, 4) @ (4, 12288), then the row product that reads it, (22 x (128, 192) @
(192, 64)), against the two apart, with the build's rows shared out by thread as the product
shares out its positions (`by_rows`) or its columns shared out (the default order, what the
builds did before). Rounds alternate the two. Run: `PYTHONPATH=src python
docs/benchmarks/ab-session20/handoff_by_rows.py [rounds]`."""

import statistics
import sys

import torch

from lrlc.bench.handoff import _per_call_us
from lrlc.functional._native import row_bmm, row_mm


def parts(by_rows: bool, calls: int = 100) -> tuple[float, float, float]:
    w, bases = torch.rand(22, 4), torch.randn(4, 12288)
    filters = torch.empty(22, 12288)
    patches, out = torch.randn(22, 128, 192), torch.empty(22, 128, 64)

    def build():
        row_mm(w, bases, filters, by_rows=by_rows)

    def product():
        row_bmm(patches, filters.view(22, 192, 64), out)

    def both():
        build()
        product()

    return tuple(_per_call_us(step, calls) for step in (build, product, both))


def main():
    torch.set_num_threads(2)
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    excess = {False: [], True: []}
    for r in range(rounds):
        for by_rows in (False, True) if r % 2 == 0 else (True, False):
            b, p, both = parts(by_rows)
            excess[by_rows].append(both - b - p)
            print(f"round {r} by_rows={by_rows}: build {b:.0f} product {p:.0f} pair {both:.0f} "
                  f"us, excess {both - b - p:+.0f}")  # fmt: skip
    for k, v in excess.items():
        print(f"by_rows={k}: median excess {statistics.median(v):+.0f} us")


if __name__ == "__main__":
    main()

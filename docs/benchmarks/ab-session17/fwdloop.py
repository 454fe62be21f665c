"""The kernel path's forward row products alone (22 output rows x 3 kernel rows of
(22, 512, 192) @ (22, 192, 64), the patches read in place from a (24, 512, 24, 64) input),
and one such product through bmm (allocating its output, or into a kept one) and baddbmm_:
`fwdloop.py [keep]`, `keep` applying the trainer's allocator setting. Session 17."""

import sys

import torch
from _timing import median_s

from lrlc.experiments.run.memory import keep_freed_memory

if len(sys.argv) > 1 and sys.argv[1] == "keep":
    keep_freed_memory()
torch.set_num_threads(2)
N, C, C_OUT, HP, WP, W_OUT = 512, 64, 64, 24, 24, 22
xp = torch.randn(HP, N, WP, C)
m = torch.randn(W_OUT, 3 * C, C_OUT)
gflop = 2 * W_OUT * N * 3 * C * C_OUT / 1e9


def patches(r):
    return xp.as_strided((W_OUT, N, 3 * C), (C, WP * C, 1), xp.storage_offset() + r * N * WP * C)


p = patches(5)
pc = p.contiguous()
acc = torch.bmm(p, m)
out = torch.empty(W_OUT, N, C_OUT)
print(f"bmm, patches in place     {gflop / median_s(lambda: torch.bmm(p, m), 9):.0f} GFLOP/s")
print(f"bmm, patches contiguous   {gflop / median_s(lambda: torch.bmm(pc, m), 9):.0f}")
print(f"baddbmm_, in place        {gflop / median_s(lambda: acc.baddbmm_(p, m), 9):.0f}")
print(f"baddbmm_, contiguous      {gflop / median_s(lambda: acc.baddbmm_(pc, m), 9):.0f}")
print(f"bmm into a kept output    {gflop / median_s(lambda: torch.bmm(p, m, out=out), 9):.0f}")


def rows():
    for i in range(W_OUT):
        a = torch.bmm(patches(i), m)
        for r in (1, 2):
            a.baddbmm_(patches(i + r), m)


print(f"the forward's 22 rows     {3 * W_OUT * gflop / median_s(rows, 3):.0f}")

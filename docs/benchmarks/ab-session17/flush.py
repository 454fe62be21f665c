"""dL/dx's 24 input rows (W, N, C) written into NCHW: directly, or through a dense (N, W, C)
scratch. Session 17."""

import torch
from _timing import median_s

from lrlc.experiments.run.memory import keep_freed_memory

keep_freed_memory()
torch.set_num_threads(2)


N, C, H, W = 512, 64, 24, 24
bufs = [torch.randn(W, N, C) for _ in range(4)]
dx = torch.empty(N, C, H, W)


def direct():
    for r in range(H):
        dx[:, :, r].copy_(bufs[r % 4].transpose(0, 1).transpose(1, 2))


s = torch.empty(N, W, C)


def two():
    for r in range(H):
        s.copy_(bufs[r % 4].transpose(0, 1))
        dx[:, :, r].copy_(s.transpose(1, 2))


print(f"flush direct {median_s(direct, 9) * 1e3:.1f} two-step {median_s(two, 9) * 1e3:.1f} ms")

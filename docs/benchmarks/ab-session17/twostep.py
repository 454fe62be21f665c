# ruff: noqa: B023  (each closure is timed within the loop iteration that defines it)
"""Writing 22 output rows (W, N, C) into NCHW: directly, or through a dense (N, W, C)
scratch (two copies, each over whole channel vectors). Session 17."""

import torch
from _timing import median_s

from lrlc.experiments.run.memory import keep_freed_memory

keep_freed_memory()
torch.set_num_threads(2)


for dt in (torch.float32, torch.bfloat16):
    N, C, W, H = 512, 64, 22, 22
    accs = [torch.randn(W, N, C).to(dt) for _ in range(4)]
    out = torch.empty(N, C, H, W, dtype=dt)

    def direct():
        for i in range(H):
            out[:, :, i] = accs[i % 4].permute(1, 2, 0)

    s = torch.empty(N, W, C, dtype=dt)

    def two():
        for i in range(H):
            s.copy_(accs[i % 4].transpose(0, 1))
            out[:, :, i] = s.transpose(1, 2)

    def two_chunk():
        for i in range(H):
            a = accs[i % 4]
            for k in range(0, N, 64):
                s[k : k + 64].copy_(a[:, k : k + 64].transpose(0, 1))
                out[k : k + 64, :, i] = s[k : k + 64].transpose(1, 2)

    print(
        dt,
        f"direct {median_s(direct, 9) * 1e3:.1f}  two-step {median_s(two, 9) * 1e3:.1f}  "
        f"two-step chunked {median_s(two_chunk, 9) * 1e3:.1f} ms (22 rows)",
    )

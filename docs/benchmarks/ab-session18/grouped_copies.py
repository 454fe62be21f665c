"""Tried, not kept (session 18): the NCHW path's transposing copies a few rows at a time
through a small staging buffer, against one row at a time as the kernel path does them.
N = 512, 64 channels, 24 x 24 input, 22 x 22 output, float32, 2 threads; times for all rows.
Run: `python docs/benchmarks/ab-session18/grouped_copies.py`."""

import torch
from _ab import median_ms as ms

torch.set_num_threads(2)
N, C, H, HO = 512, 64, 24, 22


def staged(rows, src, dst, group, two_step):
    """Row r of src(r) (W, N, C) into dst (N, C, rows, W), `group` rows per final copy."""
    w = dst.shape[-1]
    stage, tmp = torch.empty(N, C, group, w), torch.empty(N, w, C)

    def run():
        for r in range(rows):
            g = r % group
            if two_step:  # (W, N, C) -> dense (N, W, C) -> (N, C, W)
                tmp.copy_(src(r).transpose(0, 1))
                stage[:, :, g].copy_(tmp.transpose(1, 2))
            else:
                stage[:, :, g].copy_(src(r).permute(1, 2, 0))
            if g == group - 1 or r == rows - 1:
                dst[:, :, r - g : r + 1].copy_(stage[:, :, : g + 1])

    return run


def direct(rows, src, dst):
    def run():
        for r in range(rows):
            dst[:, :, r].copy_(src(r).permute(1, 2, 0))

    return run


accs = [torch.randn(HO, N, C) for _ in range(4)]  # the row products' outputs
out = torch.empty(N, C, HO, HO)
print(f"output rows, one at a time     {ms(direct(HO, lambda r: accs[r % 4], out)):6.2f} ms")
for group in (2, 4, 11):
    for two in (False, True):
        run = staged(HO, lambda r: accs[r % 4], out, group, two)
        how = " (two-step)" if two else " " * 11
        print(f"output rows, {group:2d} at a time{how} {ms(run):6.2f}")
bufs = [torch.randn(H, N, C) for _ in range(4)]  # dL/dx's row accumulators
dx = torch.empty(N, C, H, H)
print(f"dL/dx rows, one at a time      {ms(direct(H, lambda r: bufs[r % 4], dx)):6.2f}")
for group in (2, 4, 12):
    run = staged(H, lambda r: bufs[r % 4], dx, group, True)
    print(f"dL/dx rows, {group:2d} at a time (two-step) {ms(run):6.2f}")
grad, inner = torch.randn(N, C, HO, HO), torch.empty(N, HO, C)
by_row = grad.permute(2, 0, 3, 1)


def dy_rows(group):
    stage = torch.empty(N, C, group, HO)

    def run():
        for r in range(HO):
            if group == 1:
                inner.copy_(by_row[r])
                continue
            g = r % group
            if g == 0:
                k = min(group, HO - r)
                stage[:, :, :k].copy_(grad[:, :, r : r + k])
            inner.copy_(stage[:, :, g].transpose(1, 2))

    return run


for group in (1, 2, 4, 11):
    print(f"dL/dy rows, {group:2d} at a time           {ms(dy_rows(group)):6.2f}")
x, xr = torch.randn(N, C, H, H), torch.empty(H, N, H, C)
print(f"input to (H, N, W, C), whole   {ms(lambda: xr.copy_(x.permute(2, 0, 3, 1))):6.2f}")
for step in (16, 32, 64):

    def chunks(step=step):
        for s in range(0, N, step):
            xr[:, s : s + step].copy_(x[s : s + step].permute(2, 0, 3, 1))

    print(f"input, {step:2d} images at a time        {ms(chunks):6.2f}")
dense = torch.randn(N, C, HO, HO)
print(f"reference: one dense copy of the output {ms(lambda: out.copy_(dense)):6.2f}")

"""Can oneDNN run the kernel path's per-position products faster than MKL's batched GEMM?

P per-position products (N x Kc) @ (Kc x C_out) written as one grouped 1x1 convolution with
the batch as the spatial axis: input (1, P * Kc, N, 1) in channels_last, which is the memory
of a contiguous (N, P, Kc) patch tensor, groups = P. Timed against `torch.bmm` on the same
shapes, for the forward, dL/dX and dL/dW, in GFLOP/s; and one channels_last convolution
forward of the benchmark's layer for reference. Session 17, the sweep paused.
"""

import torch
import torch.nn.functional as F
from _timing import median_s

torch.set_num_threads(2)
N, C, C_OUT = 512, 64, 64


def grouped_backward(g, x, w, groups, mask):
    return torch.ops.aten.convolution_backward(
        g, x, w, None, (1, 1), (0, 0), (1, 1), False, (0, 0), groups, mask
    )


def case(dt, P, Kc):
    gflop = 2 * P * N * Kc * C_OUT / 1e9
    patches = torch.randn(N, P, Kc).to(dt)
    x = patches.view(1, N, 1, P * Kc).permute(0, 3, 1, 2)  # no copy
    w = torch.randn(P * C_OUT, Kc, 1, 1).to(dt)
    y = F.conv2d(x, w, groups=P)
    g = torch.randn_like(y)
    t_fwd = median_s(lambda: F.conv2d(x, w, groups=P))
    t_dx = median_s(lambda: grouped_backward(g, x, w, P, [True, False, False]))
    t_dw = median_s(lambda: grouped_backward(g, x, w, P, [False, True, False]))
    a = patches.permute(1, 0, 2).contiguous()  # (P, N, Kc)
    b = w.view(P, C_OUT, Kc).transpose(1, 2).contiguous()  # (P, Kc, C_out)
    go = torch.randn(P, N, C_OUT).to(dt)
    b_fwd = median_s(lambda: torch.bmm(a, b))
    b_dw = median_s(lambda: torch.bmm(go.transpose(1, 2), a))
    b_dx = median_s(lambda: torch.bmm(go, b.transpose(1, 2)))
    print(
        f"{dt} P={P} Kc={Kc}: onednn fwd {gflop / t_fwd:.0f} dX {gflop / t_dx:.0f} "
        f"dW {gflop / t_dw:.0f} GF/s | bmm fwd {gflop / b_fwd:.0f} dW {gflop / b_dw:.0f} "
        f"dX {gflop / b_dx:.0f}   out strides {y.stride()}"
    )


def conv_reference(dt):
    xc = torch.randn(N, C, 24, 24).to(dt).contiguous(memory_format=torch.channels_last)
    wc = torch.randn(C_OUT, C, 3, 3).to(dt)
    gflop = 2 * N * 22 * 22 * 576 * C_OUT / 1e9
    print(dt, "conv cl fwd", round(gflop / median_s(lambda: F.conv2d(xc, wc))))


for dt in (torch.float32, torch.bfloat16):
    for P, Kc in ((22, 576), (22, 192), (44, 576)):
        case(dt, P, Kc)
    conv_reference(dt)

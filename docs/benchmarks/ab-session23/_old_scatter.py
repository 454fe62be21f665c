"""Session 22's scattered dL/dx (a product into a buffer, then kw strided adds per kernel
row), which `ab_scatter.py` and `ab_dilated.py` compare against."""

import torch


def old(dxp, g, kernels, geo, i):
    c, (sh, sw), (dh, dw) = geo.channels, geo.stride, geo.dilation
    w_out = geo.out[1]
    for a in range(geo.kh):
        dp = torch.bmm(g, kernels.kernel_row(i, a).transpose(1, 2))
        row = dxp[i * sh + a * dh]
        for b in range(geo.kw):
            cols = slice(b * dw, b * dw + sw * (w_out - 1) + 1, sw)
            row[:, cols] += dp[:, :, b * c : (b + 1) * c].transpose(0, 1)

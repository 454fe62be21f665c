"""The paper's Eq. 2-5, one function each (public through `lrlc.functional`).

Paper: Elsayed et al., "Revisiting Spatial Invariance with Low-Rank Local Connectivity",
ICML 2020, section 3.2; the equation numbers are the paper's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

NORMALIZATIONS = ("softmax", "norm", "none")


def per_position_filters(weights: Tensor, bases: Tensor) -> Tensor:
    """Eq. 2, the filter bank at each output position: F^(i,j) = sum_k w_ij^(k) F^(k).

    Args:
        weights: combining weights w, (K, H_out, W_out), or (N, K, H_out, W_out) for
            input-dependent weights; used as given (normalise them first, Eq. 4).
        bases: the basis set F^(1..K), (K, C_out, C_in, kh, kw).

    Returns:
        (H_out, W_out, C_out, C_in, kh, kw), or (N, H_out, W_out, C_out, C_in, kh, kw): the
        weight of the equivalent locally connected layer (`locally_connected2d`), in the
        dtype of `bases`.
    """
    check_bases(bases)
    if weights.dim() not in (3, 4) or weights.shape[-3] != bases.shape[0]:
        raise ValueError(
            f"weights must be (K, H_out, W_out) or (N, K, H_out, W_out) with K = "
            f"{bases.shape[0]} bases, got shape {tuple(weights.shape)}"
        )
    equation = "khw,koiab->hwoiab" if weights.dim() == 3 else "nkhw,koiab->nhwoiab"
    return torch.einsum(equation, weights.to(bases.dtype), bases)


def factorized_logits(alpha: Tensor, beta: Tensor) -> Tensor:
    """Eq. 3, factorised combining logits: w~[k, i, j] = alpha[k, i] + beta[k, j].

    Args:
        alpha: per-row logits, (K, H_out).
        beta: per-column logits, (K, W_out).

    Returns:
        (K, H_out, W_out), unnormalised (`normalize_combining` applies Eq. 4): (H + W) * K
        parameters instead of the H * W * K of free per-position logits.
    """
    if alpha.dim() != 2 or beta.dim() != 2 or alpha.shape[0] != beta.shape[0]:
        raise ValueError(
            f"alpha must be (K, H_out) and beta (K, W_out) with the same K, got shapes "
            f"{tuple(alpha.shape)} and {tuple(beta.shape)}"
        )
    return alpha.unsqueeze(2) + beta.unsqueeze(1)


def row_logits(alpha: Tensor, width: int) -> Tensor:
    """Eq. 3 without its column term: w~[k, i, j] = alpha[k, i], filters vary down the rows.

    alpha (K, H_out) -> (K, H_out, W_out), a broadcast view with W_out = `width`.
    """
    if alpha.dim() != 2:
        raise ValueError(f"alpha must be (K, H_out), got shape {tuple(alpha.shape)}")
    return alpha.unsqueeze(2).expand(-1, -1, width)


def column_logits(beta: Tensor, height: int) -> Tensor:
    """Eq. 3 without its row term: w~[k, i, j] = beta[k, j], filters vary along the columns.

    beta (K, W_out) -> (K, H_out, W_out), a broadcast view with H_out = `height`.
    """
    if beta.dim() != 2:
        raise ValueError(f"beta must be (K, W_out), got shape {tuple(beta.shape)}")
    return beta.unsqueeze(1).expand(-1, height, -1)


def normalize_combining(logits: Tensor, mode: str, dim: int) -> Tensor:
    """Eq. 4, combining weights from logits, normalised over the basis axis `dim`.

    Args:
        logits: w~, e.g. (K, H_out, W_out) with dim=0, or (N, K, H_out, W_out) with dim=1.
        mode: "softmax" (Eq. 4: w = exp(w~) / sum_l exp(w~^(l))), "norm" (w = w~ / ||w~||_2
            over k, the paper's other choice) or "none" (w = w~).

    Returns:
        The weights, shaped as `logits`. Softmax and the L2 norm are computed in float32 (or
        float64 for float64 input) even under bf16 autocast: a rounding error there would
        rescale every filter at that position.
    """
    if mode == "none":
        return logits
    work = logits if logits.dtype == torch.float64 else logits.float()
    if mode == "softmax":
        return torch.softmax(work, dim=dim)
    if mode == "norm":
        return F.normalize(work, p=2.0, dim=dim, eps=1e-12)
    raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {mode!r}")


def spatial_bias(
    out_channels: int,
    output_size: Sequence[int],
    row: Tensor | None = None,
    column: Tensor | None = None,
    channel: Tensor | None = None,
    like: Tensor | None = None,
) -> Tensor:
    """Eq. 5, the spatially varying bias: B[c, i, j] = b_row[i] + b_col[j] + b_channel[c].

    Args:
        out_channels: C_out.
        output_size: (H_out, W_out).
        row, column, channel: b_row (H_out,), b_col (W_out,), b_channel (C_out,); a term
            that is None is left out (zero).
        like: the tensor whose dtype and device B takes (default: the first term given).

    Returns:
        B, (C_out, H_out, W_out).
    """
    h, w = output_size
    terms = (row, column, channel)
    ref = like if like is not None else next((t for t in terms if t is not None), None)
    bias = torch.zeros(out_channels, h, w) if ref is None else ref.new_zeros(out_channels, h, w)
    if row is not None:
        bias = bias + row.view(1, h, 1)
    if column is not None:
        bias = bias + column.view(1, 1, w)
    if channel is not None:
        bias = bias + channel.view(-1, 1, 1)
    return bias


def check_bases(bases: Tensor) -> None:
    """Raise a ValueError unless `bases` is a basis set (K, C_out, C_in, kh, kw)."""
    if bases.dim() != 5:
        raise ValueError(f"bases must be (K, C_out, C_in, kh, kw), got shape {tuple(bases.shape)}")

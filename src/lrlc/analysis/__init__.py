"""Parameter and FLOP counts per layer and per model, and the paper's Supp. Fig. 4.

Conventions (per example, forward pass, FLOPs = 2 * MACs): see `lrlc.analysis.counts`.
"""

from .counts import (
    LayerCount,
    ModelCount,
    conv2d_macs,
    count_layer,
    count_model,
    format_counts,
    lrlc_macs,
    n_params,
)
from .plots import flops_vs_rank, plot_flops_vs_rank
from .scaling import format_scaling, resnet_scaling

__all__ = [
    "LayerCount",
    "ModelCount",
    "conv2d_macs",
    "count_layer",
    "count_model",
    "flops_vs_rank",
    "format_counts",
    "format_scaling",
    "lrlc_macs",
    "n_params",
    "plot_flops_vs_rank",
    "resnet_scaling",
]

"""The LRLC layer's formulas as plain functions, as `torch.nn.functional` is to `torch.nn`.

Paper: Elsayed, Ramachandran, Shlens, Kornblith, "Revisiting Spatial Invariance with Low-Rank
Local Connectivity", ICML 2020, section 3.2 (equation numbers are the paper's). The modules of
`lrlc.layers` hold the parameters and call these functions; nothing here holds parameters
(only per-process caches: the measured paths, the compiled kernel), and nothing here imports
`lrlc.layers`.

- `per_position_filters`: Eq. 2, F^(i,j) = sum_k w_ij^(k) F^(k)
- `factorized_logits`: Eq. 3, w~_ij^(k) = alpha_i^(k) + beta_j^(k) (one-term variants:
  `row_logits`, `column_logits`)
- `normalize_combining`: Eq. 4, softmax over the K bases (or L2 norm, or none)
- `spatial_bias`: Eq. 5, B[c, i, j] = b_row[i] + b_col[j] + b_channel[c]; `add_bias_map` adds
  it to a batch (its gradient summed over the batch in the gradient's memory order)
- `low_rank_locally_connected2d`: Algorithm 1, the whole layer; its steps are
  `basis_responses` (O^(k) = I conv F^(k)) and `combine_bases` (O = sum_k W^(k) * O^(k))
- `locally_connected2d`: the locally connected product an LRLC layer converts to
  (`locally_connected_by_taps`: the same as kh * kw plain products, the form models export in;
  `locally_connected_by_patches`: one batched product over unfolded patches; GPUs run these,
  `plain_engine` says which)
- `lrlc_by_kernels`: the rank-independent path, Algorithm 1's output for fixed weights through
  the per-position filters of Eq. 2 built row by row; `choose_path` picks a path by cost,
  `fastest_path` by a one-time measurement where the costs are close
- `native_status`, `use_native`: whether the row engines' float32 products run through the
  compiled kernel (`_native/lc_bmm.c`, built at first use where a C compiler is at hand) or
  torch's, and a switch between them

Shapes follow PyTorch: images (N, C, H, W), a basis set (K, C_out, C_in, kh, kw), combining
weights on the output grid, (K, H_out, W_out), or (N, K, H_out, W_out) when input-dependent
(the paper's Eq. 6, computed by `lrlc.layers.InputDependentLogits`).
"""

from ._bias import add_bias_map, batch_sum_to
from ._engines import plain_engine
from ._equations import (
    NORMALIZATIONS,
    column_logits,
    factorized_logits,
    normalize_combining,
    per_position_filters,
    row_logits,
    spatial_bias,
)
from ._kernel_path import (
    PATHS,
    PathCosts,
    choose_path,
    locally_connected_by_rows,
    lrlc_by_kernels,
    path_costs,
    path_estimates,
)
from ._layers import basis_responses, locally_connected2d, low_rank_locally_connected2d
from ._native import status as native_status
from ._native import use_native
from ._ops import combine_bases, locally_connected_by_patches, locally_connected_by_taps
from ._path_timing import (
    PathTiming,
    clear_measured_paths,
    fastest_path,
    measured_paths,
    restore_measured_paths,
    set_path_timing,
)

__all__ = [
    "NORMALIZATIONS",
    "PATHS",
    "add_bias_map",
    "batch_sum_to",
    "PathCosts",
    "choose_path",
    "path_costs",
    "path_estimates",
    "PathTiming",
    "clear_measured_paths",
    "fastest_path",
    "measured_paths",
    "native_status",
    "use_native",
    "restore_measured_paths",
    "set_path_timing",
    "locally_connected_by_rows",
    "lrlc_by_kernels",
    "basis_responses",
    "column_logits",
    "combine_bases",
    "factorized_logits",
    "locally_connected2d",
    "locally_connected_by_patches",
    "locally_connected_by_taps",
    "low_rank_locally_connected2d",
    "normalize_combining",
    "per_position_filters",
    "plain_engine",
    "row_logits",
    "spatial_bias",
]

"""Networks built from the layers: the paper's 3-layer nets."""

from .simple import SimpleNet, build_model, layer_kinds, model_names, paper_row, uses_rank

__all__ = ["SimpleNet", "build_model", "layer_kinds", "model_names", "paper_row", "uses_rank"]

"""`auto`'s choice between Algorithm 1 and the kernel path: the layer asks the cost model
(`choose_path`), whose constants follow the CPU's instruction set, the compiled products and
the geometry (strided and dilated columns), and a GPU's; each pinned to what the benchmarks
measured (docs/performance.md)."""

import pytest
import torch

from lrlc import LowRankLocallyConnected2d
from lrlc.functional import choose_path, native_status, path_costs, use_native
from lrlc.functional._kernel_path import COMPILED_PATH_COSTS, CPU_PATH_COSTS, GPU_PATH_COSTS


def test_the_layer_chooses_its_path_by_cost():
    layer = LowRankLocallyConnected2d(4, 4, 3, input_size=(8, 8), rank=8)
    assert layer.chosen_path(128) == "kernel"  # K = 8 convolutions vs about 1.6
    assert LowRankLocallyConnected2d(4, 4, 3, input_size=8, rank=1).chosen_path(128) == "basis"
    dependent = LowRankLocallyConnected2d(
        4, 4, 3, input_size=8, rank=8, combining="input_dependent"
    )
    assert dependent.chosen_path(128) == "basis"  # filters differ per example
    assert choose_path(2, 1, (1, 1), (1, 1)) == "basis"  # one example: building W dominates
    forced = LowRankLocallyConnected2d(4, 4, 3, input_size=8, rank=8, path="basis")
    assert forced.chosen_path(512) == "basis" and "path='basis'" in repr(forced)
    with pytest.raises(ValueError, match="path must be one of"):
        LowRankLocallyConnected2d(4, 4, 3, input_size=8, rank=2, path="fast")


def test_the_cost_model_follows_the_cpu_it_runs_on(monkeypatch):
    # Measured (docs/performance.md): at K = 2 the kernel path beats Algorithm 1 on the AVX2
    # CPU (1.41x vs 2.13x a convolution at N = 512) and loses on the AVX-512 one (2.92x vs
    # 2.04x); from K = 4 it wins on both.
    avx2, avx512 = CPU_PATH_COSTS["AVX2"], CPU_PATH_COSTS["AVX512"]
    for batch in (128, 512):
        assert choose_path(2, batch, (1, 1), (1, 1), costs=avx2) == "kernel"
        assert choose_path(2, batch, (1, 1), (1, 1), costs=avx512) == "basis"
        for rank in (4, 8, 32):
            assert choose_path(rank, batch, (1, 1), (1, 1), costs=avx2) == "kernel"
            assert choose_path(rank, batch, (1, 1), (1, 1), costs=avx512) == "kernel"
    # Batch 32 on the AVX-512 CPU: Algorithm 1 still at K = 4, the kernel path from K = 8.
    assert choose_path(4, 32, (1, 1), (1, 1), costs=avx512) == "basis"
    assert choose_path(8, 32, (1, 1), (1, 1), costs=avx512) == "kernel"
    layer = LowRankLocallyConnected2d(4, 4, 3, input_size=8, rank=2)
    cases = [("AVX512", avx512, "basis"), ("AVX512_BF16", avx512, "basis"),
             ("AVX2", avx2, "kernel"), ("DEFAULT", avx2, "kernel")]  # fmt: skip
    with use_native(False):  # torch's products
        for capability, costs, path in cases:
            monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda c=capability: c)
            assert path_costs() is costs and path_costs("cpu") is costs, capability
            assert layer.chosen_path(512) == path, capability
    assert path_costs("cuda") is GPU_PATH_COSTS
    # On a GPU (an H200): Algorithm 1 to K = 8, the kernel path from K = 16, at any batch.
    for batch in (32, 128, 512):
        assert choose_path(8, batch, (1, 1), (1, 1), "cuda") == "basis"
        assert choose_path(16, batch, (1, 1), (1, 1), "cuda") == "kernel"


def test_the_cost_model_knows_the_compiled_products():
    """With the compiled row products on an AVX-512 CPU (fitted to session 19's grids), the
    kernel path is the cheaper from K = 2 at batches of 128 and 512, from K = 4 at 32; at
    K = 1 Algorithm 1 (one convolution) always is. AVX2 keeps its constants."""
    compiled = COMPILED_PATH_COSTS["AVX512"]
    for batch in (128, 512):
        assert choose_path(1, batch, (1, 1), (1, 1), costs=compiled) == "basis"
        for rank in (2, 4, 8, 32):
            assert choose_path(rank, batch, (1, 1), (1, 1), costs=compiled) == "kernel"
    assert choose_path(2, 32, (1, 1), (1, 1), costs=compiled) == "basis"
    assert choose_path(4, 32, (1, 1), (1, 1), costs=compiled) == "kernel"
    assert "AVX2" not in COMPILED_PATH_COSTS
    if native_status().isa == "AVX512" and native_status().available:
        with use_native(True):
            assert path_costs() is compiled
        with use_native(False):
            assert path_costs() is CPU_PATH_COSTS["AVX512"]


def test_strided_and_dilated_columns_cost_what_was_measured():
    """With the compiled products, strided columns add 0.05 of a convolution step (measured:
    0.01-0.06, stride 2), so the kernel path keeps K = 2 at stride 2 (1.41 against
    Algorithm 1's 2.16x at N = 128); dilated columns add 0.5 (measured: 1.66 against 1.17x at
    dilation 2, K = 4)."""
    compiled = COMPILED_PATH_COSTS["AVX512"]
    plain = compiled.kernel_cost(2, 128, None)
    assert compiled.kernel_cost(2, 128, "strided") == pytest.approx(plain + 0.05)
    assert compiled.kernel_cost(2, 128, "dilated") == pytest.approx(plain + 0.5)
    assert choose_path(2, 128, (2, 2), (1, 1), costs=compiled) == "kernel"
    assert choose_path(2, 128, (1, 1), (1, 2), costs=compiled) == "basis"

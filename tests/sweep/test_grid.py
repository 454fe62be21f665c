"""Grid expansion: seed and rank lists, ranks only for rank models, one folder per run."""

import pytest

from lrlc.experiments.config import TrainConfig
from lrlc.experiments.sweep import SweepGrid, parse_int_list, parse_models, run_dir, run_sweep
from lrlc.models import paper_model_names


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0-9", list(range(10))),
        ("0,2,5", [0, 2, 5]),
        ("0-2,7", [0, 1, 2, 7]),
        ("3", [3]),
        ("1, 2,2,4", [1, 2, 4]),
    ],
)
def test_int_lists_and_ranges(text, expected):
    assert parse_int_list(text) == expected


@pytest.mark.parametrize("text", ["5-3", "a", "", "1-x"])
def test_bad_int_lists_are_refused(text):
    with pytest.raises(ValueError):
        parse_int_list(text)


def test_model_lists():
    assert parse_models("conv, lrlc3") == ["conv", "lrlc3"]
    assert parse_models("all") == paper_model_names() and "resnet18" not in parse_models("all")
    assert parse_models("conv,resnet18_lrlc") == ["conv", "resnet18_lrlc"]
    assert "ns3" not in parse_models("paper") and "lrlc3_id" in parse_models("paper")
    with pytest.raises(ValueError, match="unknown model"):
        parse_models("conv,lrlc9")


def test_ranks_apply_only_to_rank_models(tmp_path):
    base = TrainConfig.from_preset("paper", dataset="mnist", epochs=2)
    grid = SweepGrid(base, ["conv", "lrlc3", "wide3", "coordconv"], [1, 2, 4], [0, 1])
    configs = grid.configs()
    # per seed: conv 1 + lrlc3 3 + wide3 3 + coordconv 1
    assert len(configs) == 2 * 8
    combos = {(c.model, c.rank, c.seed) for c in configs}
    assert len(combos) == len(configs)
    unranked = {(m, r) for m, r, _ in combos if m in ("conv", "coordconv")}
    assert unranked == {("conv", 1), ("coordconv", 1)}
    assert {r for m, r, _ in combos if m == "lrlc3"} == {1, 2, 4}
    # Everything else comes from the base configuration.
    assert all(c.epochs == 2 and c.dataset == "mnist" for c in configs)
    folders = [run_dir(tmp_path, c) for c in configs]
    assert folders == [tmp_path / "runs" / c.run_id() for c in configs]
    assert len(set(folders)) == len(configs)
    assert set(grid.to_dict()["base"]).isdisjoint({"model", "rank", "seed"})


def test_a_model_can_have_its_own_ranks(tmp_path):
    base = TrainConfig.from_preset("paper", dataset="mnist", epochs=2)
    grid = SweepGrid(base, ["conv", "lrlc3", "wide3"], [1, 2, 4, 8], [0], {"wide3": [1, 2]})
    ranks = {(c.model, c.rank) for c in grid.configs()}
    assert {r for m, r in ranks if m == "lrlc3"} == {1, 2, 4, 8}
    assert {r for m, r in ranks if m == "wide3"} == {1, 2}
    assert grid.ranks_of("conv") == [1] and len(grid.configs()) == 1 + 4 + 2
    assert grid.to_dict()["model_ranks"] == {"wide3": [1, 2]}
    # Without per-model ranks the recorded grid is what it always was (sweep.json).
    assert "model_ranks" not in SweepGrid(base, ["conv"], [1], [0]).to_dict()
    with pytest.raises(ValueError, match="not in the grid: lc3"):
        SweepGrid(base, ["conv"], [1], [0], {"lc3": [1]}).check()


def test_a_rank_below_one_is_refused_before_any_run_even_for_models_without_one(tmp_path):
    base = TrainConfig.from_preset("paper", dataset="mnist", epochs=2)
    with pytest.raises(ValueError, match="ranks must be >= 1, got 0 in --ranks"):
        SweepGrid(base, ["conv"], [0, 2], [0]).check()
    with pytest.raises(ValueError, match="got -1 in wide3"):
        SweepGrid(base, ["wide3"], [1], [0], {"wide3": [-1, 2]}).check()
    with pytest.raises(ValueError, match=">= 1"):
        run_sweep(SweepGrid(base, ["conv"], [0], [0]), tmp_path / "sweep")
    assert not (tmp_path / "sweep").exists()

"""Feeds: global batches cut the same way for any number of processes, in memory and from
files; a streamed run trains exactly as an in-memory one; the progress shows images/s; and
BatchNorm over the global batch equals BatchNorm (float64)."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest
import torch
import torch.distributed as dist
from torch import nn

from lrlc.data import open_dataset
from lrlc.experiments import progress
from lrlc.experiments.config import TrainConfig
from lrlc.experiments.machine import SpeedOptions
from lrlc.experiments.run import feed as feed_module
from lrlc.experiments.run import train
from lrlc.experiments.run.distributed import Processes
from lrlc.experiments.run.feed import GlobalBatches, epoch_order, make_feed
from lrlc.experiments.run.sync_bn import GlobalBatchNorm, convert_sync_batchnorm

from ..data.ownfakes import make_folder


def _steps(n, batch, world, rank, epoch=0):
    return list(GlobalBatches(n, batch, 7, Processes(world_size=world, rank=rank))(epoch))


@pytest.mark.parametrize("n, batch, world", [(37, 8, 2), (37, 8, 3), (40, 9, 4), (5, 4, 2)])
def test_shards_are_disjoint_and_make_the_global_batch(n, batch, world):
    order = epoch_order(n, 7, 0)
    per_rank = [_steps(n, batch, world, r) for r in range(world)]
    steps = [s for s, *_ in per_rank[0]]
    assert all([s for s, *_ in mine] == steps for mine in per_rank)
    for k, step in enumerate(steps):
        shards = [per_rank[r][k][1] for r in range(world)]
        union = torch.cat(shards)
        assert len(set(union.tolist())) == len(union)  # disjoint
        assert torch.equal(union, order[step * batch : (step + 1) * batch])  # the global batch
        assert all(per_rank[r][k][2] == len(union) for r in range(world))
        # w_r = n_r W / N: DDP's average of w_r * (mean loss of shard r) is the global mean.
        weights = [per_rank[r][k][3] for r in range(world)]
        assert weights == [len(sh) * world / len(union) for sh in shards]
        assert sum(weights) == pytest.approx(world)
    # Only a step whose smallest shard has fewer than 2 images is skipped.
    last = order[(len(order) - 1) // batch * batch :]
    skipped = min(len(s) for s in torch.tensor_split(last, world)) < 2
    assert (len(steps) == -(-n // batch) - 1) == skipped


def test_loss_weights_average_to_the_global_mean():
    # sum over ranks of weight_r * mean_r / W == sum of all losses / global count
    losses = torch.arange(9.0)
    shards = torch.tensor_split(torch.arange(9), 2)
    weights = [len(s) * 2 / 9 for s in shards]
    ddp_average = sum(w * losses[s].mean() for w, s in zip(weights, shards, strict=True)) / 2
    assert ddp_average.item() == pytest.approx(losses.mean().item())
    (one,) = _steps(9, 9, 1, 0)[:1]
    assert one[3] == 1.0  # one process: exactly the plain mean


@pytest.fixture
def folder(tmp_path, monkeypatch):
    make_folder(tmp_path / "imgs", {"train": 8, "test": 2})
    monkeypatch.setenv("LRLC_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "imgs"


def test_streamed_and_in_memory_feeds_give_the_same_batches(folder):
    config = TrainConfig(dataset="x", batch_size=5, epochs=1, warmup_epochs=0, eval_batch_size=4)
    memory = make_feed(open_dataset(f"folder:{folder}@6"), config, Processes())
    streamed = make_feed(open_dataset(f"folder:{folder}@6,stream"), config, Processes(), 1)
    for a, b in zip(memory.epoch(0), streamed.epoch(0), strict=True):
        assert a.step == b.step and torch.equal(a.indices, b.indices)
        assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    for split in ("val", "test"):
        for (xa, ya), (xb, yb) in zip(
            memory.evaluation(split), streamed.evaluation(split), strict=True
        ):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_a_distributed_runs_loader_workers_are_not_forked_from_the_trainer(folder, monkeypatch):
    """A worker forked from a trainer with gloo's and OpenMP's threads can hang for ever in a
    lock one of them held: a distributed run's workers start from a thread-free server; one
    process's are forked (sharing its pages)."""
    config = TrainConfig(dataset="x", batch_size=4, epochs=1, warmup_epochs=0)
    data = open_dataset(f"folder:{folder}@6,stream")
    seen = []
    monkeypatch.setattr(feed_module, "DataLoader", lambda *a, **kw: seen.append(kw) or [])
    ranks = Processes(world_size=2, rank=0, backend="gloo")
    for processes in (ranks, Processes()):
        list(make_feed(data, config, processes, 1).evaluation("test"))
    (distributed, single) = seen
    assert distributed["num_workers"] == 1
    assert distributed["multiprocessing_context"].get_start_method() in ("forkserver", "spawn")
    assert single["multiprocessing_context"] is None  # the platform's default, fork
    feed = make_feed(data, config, ranks, 0)  # no workers: no context (DataLoader refuses one)
    list(feed.evaluation("test"))
    assert seen[2]["multiprocessing_context"] is None


def test_a_streamed_run_trains_exactly_as_an_in_memory_run(folder, tmp_path, one_thread):
    results, weights = [], []
    for name in (f"folder:{folder}@8", f"folder:{folder}@8,stream"):
        config = TrainConfig(dataset=name, model="conv", width=8, epochs=2, batch_size=8,
                             warmup_epochs=0)  # fmt: skip
        out = tmp_path / name.rpartition(",")[2]
        results.append(train(config, out, progress=False, speed=SpeedOptions(loader_workers=1)))
        weights.append(torch.load(out / "checkpoint.pt", weights_only=True)["model"])
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert results[0]["metrics"] == {**results[1]["metrics"], "wall_time_s": results[0][
        "metrics"]["wall_time_s"]}  # fmt: skip
    assert results[1]["data_sizes"] == results[0]["data_sizes"]
    assert "streamed" in results[1]["data_source"] and results[1]["processes"] == 1


def test_progress_lines_show_images_per_second_and_eta(monkeypatch):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    bar = progress.EpochProgress(3, 10, enabled=None, images=1000)
    bar.tty = False  # a log, not a terminal
    out = io.StringIO()
    with redirect_stdout(out):
        bar.start_epoch(0)
        bar.step(2.5, images=100)
    line = out.getvalue()
    assert "step 1/10" in line and "images/s" in line and "ETA" in line


def test_global_batchnorm_is_batchnorm_in_float64(tmp_path):
    dist.init_process_group(
        "gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1
    )
    try:
        torch.manual_seed(0)
        plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, momentum=0.3)).double()
        with torch.no_grad():
            plain[1].weight.uniform_(0.5, 2)
            plain[1].bias.uniform_(-1, 1)
        synced = convert_sync_batchnorm(
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, momentum=0.3)).double(), "cpu"
        )
        synced.load_state_dict(plain.state_dict())
        assert isinstance(synced[1], GlobalBatchNorm)
        x = torch.randn(5, 3, 7, 6, dtype=torch.float64) * 3 + 1
        for model in (plain, synced):
            model.train()
            model(x).pow(3).sum().backward()
        assert torch.allclose(plain(x), synced(x), atol=1e-12)
        for (name, a), b in zip(plain.named_parameters(), synced.parameters(), strict=True):
            assert torch.allclose(a.grad, b.grad, atol=1e-10), name
        for name, a in plain.state_dict().items():
            assert torch.allclose(a.double(), synced.state_dict()[name].double()), name
        plain.eval(), synced.eval()
        assert torch.allclose(plain(x), synced(x), atol=1e-12)
    finally:
        dist.destroy_process_group()


def test_conversion_keeps_parameters_so_an_optimizer_stays_valid():
    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    before = [id(p) for p in model.parameters()]
    keys = list(model.state_dict())
    converted = convert_sync_batchnorm(model, "cpu")
    assert [id(p) for p in converted.parameters()] == before
    assert list(converted.state_dict()) == keys

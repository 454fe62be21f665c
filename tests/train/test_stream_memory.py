"""A folder larger than the memory budget is never read into memory whole: streamed, the peak
resident memory of the training process and of its DataLoader workers stays a fraction of the
decoded folder, while the in-memory path's peak holds all of it (which shows that the
measurement can see a whole read)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

IMAGES_PER_CLASS = {"train": 300, "test": 75}  # x 4 classes = 1,500 files of 8x8 pixels
SIZE = 96  # decoded: 1,500 x 3 x 96 x 96 float32 = 166 MB

SCRIPT = r"""
import json, resource, sys
from lrlc.data import load_dataset, open_dataset
from lrlc.experiments.config import TrainConfig
from lrlc.experiments.run.distributed import Processes
from lrlc.experiments.run.feed import make_feed

def status(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field + ":"))

mode, name = sys.argv[1:]
out = {"baseline": status("VmRSS")}
if mode == "memory":
    ds = load_dataset(name)
    out["images"] = sum(len(ds.split(s)[1]) for s in ("train", "val", "test"))
else:
    try:
        load_dataset(name)
        out["refused"] = ""
    except ValueError as error:
        out["refused"] = str(error)
    ds = open_dataset(name + ",stream")
    config = TrainConfig(dataset=name, batch_size=50, epochs=1, warmup_epochs=0,
                         eval_batch_size=100)
    feed = make_feed(ds, config, Processes(), workers=2)
    out["images"] = sum(len(b.y) for b in feed.epoch(0)) + sum(
        len(y) for split in ("val", "test") for _, y in feed.evaluation(split))
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so this process's
# would include pytest's size when it was forked. Its (forked, not exec'd) DataLoader workers'
# ru_maxrss is their own.
out["peak"] = status("VmHWM")
out["workers"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps(out))
"""


def _measure(mode: str, name: str, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, name],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_streaming_never_holds_the_folder_in_memory(tmp_path):
    rng = np.random.default_rng(0)
    for split, count in IMAGES_PER_CLASS.items():
        for label in range(4):
            folder = tmp_path / "imgs" / split / f"c{label}"
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    total = 4 * sum(IMAGES_PER_CLASS.values())
    decoded = total * 3 * SIZE * SIZE * 4  # float32 tensors
    env = dict(os.environ, LRLC_DATA_DIR=str(tmp_path / "cache"))
    name = f"folder:{tmp_path / 'imgs'}@{SIZE}"

    memory = _measure("memory", name, env)
    assert memory["images"] == total
    assert memory["peak"] - memory["baseline"] > 0.9 * decoded

    budget = decoded // 4
    streamed = _measure("stream", name, dict(env, LRLC_MEMORY_BUDGET=str(budget)))
    assert streamed["images"] == total  # every image was read, once per pass
    assert f"{name}x{SIZE},rgb,stream" in streamed["refused"]  # in memory: over the budget
    assert streamed["peak"] - streamed["baseline"] < budget, streamed
    assert streamed["workers"] - streamed["baseline"] < budget, streamed

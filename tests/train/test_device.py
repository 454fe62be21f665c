"""--device: the CPU by default, CUDA when asked for and present, one clear error otherwise."""

import json

import pytest
import torch

from lrlc.cli import main
from lrlc.experiments.run import train
from lrlc.experiments.run.device import resolve_device
from lrlc.experiments.sweep import LocalExecutor, RayExecutor

from .test_train import tiny

HAS_CUDA = torch.cuda.is_available()


def test_resolve_device():
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if HAS_CUDA else "cpu")
    for bad in ("tpu", "mps", "meta", "not a device"):
        with pytest.raises(ValueError, match="cpu, cuda, cuda:N or auto"):
            resolve_device(bad)
    with pytest.raises(ValueError, match="does not exist|no CUDA GPU"):
        resolve_device("cuda:99")


def test_asking_for_a_missing_gpu_says_what_to_do():
    if HAS_CUDA:
        assert resolve_device("cuda").type == "cuda"
        return
    with pytest.raises(ValueError, match="has no CUDA GPU.*use --device cpu"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        LocalExecutor(device="cuda")


def test_run_records_its_device_and_the_device_is_not_in_the_hash(mnist_small, tmp_path):
    config = tiny(epochs=1, model="conv", rank=1)
    result = train(config, tmp_path, data=mnist_small, progress=False, device="cpu")
    assert json.loads((tmp_path / "result.json").read_text())["device"] == "cpu"
    # The same run asked for on another --device is the same run: it is not trained again.
    assert train(config, tmp_path, data=mnist_small, progress=False, device="auto") == result
    if not HAS_CUDA:
        with pytest.raises(ValueError, match="no CUDA GPU"):
            train(config, tmp_path / "gpu", data=mnist_small, progress=False, device="cuda")
        assert not (tmp_path / "gpu").exists() or not any((tmp_path / "gpu").iterdir())


def test_cli_device_errors_are_one_line(tmp_path, capsys):
    code = main(["train", "--model", "conv", "--device", "tpu", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("lrlc: error: unknown device 'tpu'") or "not supported" in err
    assert "Traceback" not in err


def test_ray_executor_reserves_gpus_only_when_asked():
    assert "GPU" not in RayExecutor().description
    assert "0.5 GPU(s) per run" in RayExecutor(gpus_per_run=0.5).description
    with pytest.raises(ValueError, match="gpus_per_run must be >= 0"):
        RayExecutor(gpus_per_run=-1)

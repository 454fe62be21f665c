"""Your own images through the whole harness: `lrlc train`, `lrlc convert`, `lrlc sweep` and
`lrlc report` on a tiny ImageFolder and a tiny .npz made in the test, and their errors."""

import json

import numpy as np
import pytest

from lrlc.cli import main

from ..data.ownfakes import make_folder, npz_arrays

TINY = ["--epochs", "1", "--batch-size", "8", "--width", "8"]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def folder(tmp_path, monkeypatch):
    make_folder(tmp_path / "imgs", {"train": 8, "test": 3}, classes=("cat", "dog"))
    monkeypatch.chdir(tmp_path)  # a relative name must not make the run depend on the cwd
    monkeypatch.setenv("LRLC_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_train_convert_sweep_and_report_on_an_image_folder(folder, capsys):
    name = "folder:imgs@12"
    code, out, err = run(
        capsys, "train", "--dataset", name, "--model", "lrlc3", "--rank", "2", "--out", "run",
        "--epochs", "1", "--batch-size", "8",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads((folder / "run" / "result.json").read_text())
    assert result["config"]["dataset"] == f"folder:{folder / 'imgs'}@12x12,rgb"
    assert result["data_sizes"]["test"] == 6 and len(result["data_fingerprint"]) == 64
    code, out, err = run(capsys, "convert", "run", "--out", "lc.pt")
    assert code == 0 and "converted 1 LRLC layer" in out, err
    code, out, err = run(
        capsys, "sweep", "--dataset", name, "--models", "conv,lrlc3", "--ranks", "2",
        "--out", "sweep", *TINY,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "report", "sweep", "--no-figures")
    assert code == 0, err
    report = (folder / "sweep" / "report" / "report.md").read_text()
    assert "No paper numbers" in report and "LRLC (3RD LAYER)" in report


def test_train_on_arrays_in_an_npz(tmp_path, capsys):
    arrays = npz_arrays(n_train=24, n_test=6, shape=(9, 9))
    np.savez(tmp_path / "d.npz", **arrays)
    code, out, err = run(
        capsys, "train", "--dataset", f"npz:{tmp_path / 'd.npz'}", "--model", "conv",
        "--out", str(tmp_path / "run"), *TINY[:4],
    )  # fmt: skip
    assert code == 0, err
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["data_sizes"]["test"] == 6 and result["metrics"]["epochs_done"] == 1


def test_bad_own_data_is_one_clear_message(tmp_path, capsys):
    make_folder(tmp_path / "imgs", {"train": 4, "test": 2}, classes=("a", "b"))
    (tmp_path / "imgs" / "train" / "empty").mkdir()
    code, out, err = run(
        capsys, "train", "--dataset", f"folder:{tmp_path / 'imgs'}", "--model", "conv",
        "--out", str(tmp_path / "run"), *TINY[:4],
    )  # fmt: skip
    assert code == 2 and err.startswith("lrlc: error:") and "empty" in err
    assert not (tmp_path / "run").exists()
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "imagenet", "--model", "conv", "--out", str(tmp_path)])
    assert "npz:PATH or folder:PATH" in capsys.readouterr().err

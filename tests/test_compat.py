"""Module paths and names of lrlc 0.1 keep working for one release, with a DeprecationWarning."""

import importlib
import sys

import pytest


@pytest.mark.parametrize(
    "old, new, name",
    [
        ("lrlc.train", "lrlc.experiments.run", "train"),
        ("lrlc.sweep", "lrlc.experiments.sweep", "run_sweep"),
        ("lrlc.report", "lrlc.experiments.report", "write_report"),
        ("lrlc.config", "lrlc.experiments.config", "TrainConfig"),
        ("lrlc.checkpoint", "lrlc.experiments.files", "load_checkpoint"),
        ("lrlc.presets", "lrlc.experiments.reproduce", "reproduce"),
        ("lrlc.models.simple", "lrlc.models", "build_model"),
    ],
)
def test_an_old_module_path_is_the_new_module_with_a_warning(old, new, name):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_simplenet_is_papernet_with_a_warning():
    from lrlc import models

    with pytest.warns(DeprecationWarning, match="PaperNet"):
        assert models.SimpleNet is models.PaperNet


def test_an_unknown_module_is_still_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("lrlc.no_such_module")

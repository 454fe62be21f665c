"""Module paths of lrlc 0.1, kept importable for one release with a DeprecationWarning.

0.2 split the package into the library (layers, functional, models, data, analysis) and the
experiment harness (`lrlc.experiments`). `import lrlc.train` and the like still work: a finder
on `sys.meta_path` answers each old name with the module that now holds its contents.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

# old module -> the module (or package facade) that now holds its public names
MOVED: dict[str, str] = {
    "lrlc.train": "lrlc.experiments.run",
    "lrlc.checkpoint": "lrlc.experiments.files",
    "lrlc.config": "lrlc.experiments.config",
    "lrlc.device": "lrlc.experiments.run.device",
    "lrlc.runtime": "lrlc.experiments.run.memory",
    "lrlc.provenance": "lrlc.experiments.provenance",
    "lrlc.convert": "lrlc.experiments.run.convert",
    "lrlc.sweep": "lrlc.experiments.sweep",
    "lrlc.executors": "lrlc.experiments.sweep.executors",
    "lrlc.presets": "lrlc.experiments.reproduce",
    "lrlc.report": "lrlc.experiments.report",
    "lrlc.tables": "lrlc.experiments.report.render",
    "lrlc.claims": "lrlc.experiments.report.claims",
    "lrlc.figures": "lrlc.experiments.report.figures",
    # 0.1's build_model, model_names, ... now answer for every model family
    "lrlc.models.simple": "lrlc.models",
    "lrlc.analysis.figures": "lrlc.analysis.plots",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.target} in lrlc 0.2; the old path goes in 0.3",
            DeprecationWarning,
            stacklevel=4,
        )
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        # The module is the target itself, already executed; only the old name is bound.
        pass


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(MOVED[fullname]))


def install() -> None:
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())

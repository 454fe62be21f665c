"""A pickle reader that only builds numpy arrays and plain containers.

Dataset pickles (MNIST's classic mnist.pkl.gz, CIFAR-10's batches) come from the internet;
a normal `pickle.load` would run whatever callable they name. This unpickler admits only the
few numpy globals that array pickles use, from numpy 1 (`numpy.core`) and numpy 2
(`numpy._core`) alike; any other global raises `pickle.UnpicklingError`.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Callable, Iterable
from typing import IO, Any

__all__ = ["RestrictedUnpickler", "restricted_load"]


def _numpy_core(module: str) -> Any:
    # numpy 2 moved numpy.core to numpy._core; the old path still works but warns.
    try:
        return importlib.import_module(f"numpy._core.{module}")
    except ImportError:  # numpy 1
        return importlib.import_module(f"numpy.core.{module}")


def _from_core(module: str, name: str) -> Callable[[], Any]:
    return lambda: getattr(_numpy_core(module), name)


def _from_numpy(name: str) -> Callable[[], Any]:
    return lambda: getattr(importlib.import_module("numpy"), name)


_NUMPY_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    ("numpy", "ndarray"): _from_numpy("ndarray"),
    ("numpy", "dtype"): _from_numpy("dtype"),
}
for _prefix in ("numpy.core", "numpy._core"):
    _NUMPY_GLOBALS[(f"{_prefix}.multiarray", "_reconstruct")] = _from_core(
        "multiarray", "_reconstruct"
    )
    # numpy scalars inside a pickle, and protocol-5 out-of-band array buffers.
    _NUMPY_GLOBALS[(f"{_prefix}.multiarray", "scalar")] = _from_core("multiarray", "scalar")
    _NUMPY_GLOBALS[(f"{_prefix}.numeric", "_frombuffer")] = _from_core("numeric", "_frombuffer")

# Python 3 writes bytes into protocol-2 pickles as _codecs.encode(str, "latin1"): harmless, and
# needed to read CIFAR-style batches that were re-pickled by Python 3.
CODECS_ENCODE: dict[tuple[str, str], Callable[[], Any]] = {
    ("_codecs", "encode"): lambda: importlib.import_module("_codecs").encode
}


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` admits numpy array globals only (plus `extra`)."""

    def __init__(
        self,
        file: IO[bytes],
        *,
        extra: dict[tuple[str, str], Callable[[], Any]] | None = None,
        encoding: str = "latin1",
    ) -> None:
        # latin1 maps Python 2 str (array data, dict keys) to str/bytes losslessly.
        super().__init__(file, encoding=encoding)
        self._allowed = dict(_NUMPY_GLOBALS)
        self._allowed.update(extra or {})

    def find_class(self, module: str, name: str) -> Any:
        resolve = self._allowed.get((module, name))
        if resolve is None:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy arrays are allowed "
                "in dataset pickles"
            )
        return resolve()


def restricted_load(
    file: IO[bytes],
    *,
    extra: Iterable[tuple[str, str]] = (),
    encoding: str = "latin1",
) -> Any:
    """Unpickle `file` with `RestrictedUnpickler`; `extra` names entries of `CODECS_ENCODE`."""
    allowed = {key: CODECS_ENCODE[key] for key in extra}
    return RestrictedUnpickler(file, extra=allowed, encoding=encoding).load()

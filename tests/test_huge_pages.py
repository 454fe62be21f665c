"""The huge-pages switch: how a request resolves, and that the `lrlc` command's early setting
really reaches torch's allocator (it reads the variable once, at its first CPU allocation)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from lrlc.experiments import huge_pages
from lrlc.experiments.huge_pages import ENV, kernel_mode, resolve
from lrlc.experiments.machine import plan_execution


@pytest.mark.parametrize(
    "text, mode",
    [("always [madvise] never\n", "madvise"), ("[always] madvise never\n", "always"),
     ("always madvise [never]\n", "never"), ("garbage\n", "unavailable")],
)  # fmt: skip
def test_the_kernel_mode_is_the_bracketed_word(tmp_path, text, mode):
    path = tmp_path / "enabled"
    path.write_text(text)
    assert kernel_mode(path) == mode


def test_a_kernel_without_the_file_offers_none(tmp_path):
    assert kernel_mode(tmp_path / "missing") == "unavailable"


@pytest.mark.parametrize(
    "requested, environ, mode, on, value, why",
    [(None, {}, "madvise", True, "1", "auto: the kernel offers them"),
     (None, {}, "always", True, "1", "auto"),
     (None, {}, "never", False, None, "auto: the kernel offers none"),
     (None, {ENV: "0"}, "madvise", False, None, f"{ENV}=0 in the environment"),
     (None, {ENV: "1"}, "madvise", True, None, f"{ENV}=1 in the environment"),
     (True, {ENV: "0"}, "madvise", True, "1", "asked for"),
     (True, {}, "never", False, None, "asked for, but the kernel offers none"),
     (False, {}, "madvise", False, "0", "asked off")],
)  # fmt: skip
def test_a_request_resolves_from_flag_environment_and_kernel(
    requested, environ, mode, on, value, why
):
    outcome, to_set = resolve(requested, environ, mode)
    assert (outcome.on, to_set) == (on, value)
    assert why in outcome.reason


def test_the_run_plan_records_the_process_state(monkeypatch):
    monkeypatch.setattr(huge_pages, "kernel_mode", lambda: "madvise")
    monkeypatch.setenv(ENV, "1")
    plan = plan_execution("fp32", torch.device("cpu"))
    assert plan.record()["huge_pages"] is True and "huge pages on" in plan.describe()
    monkeypatch.setenv(ENV, "0")
    assert plan_execution("fp32", torch.device("cpu")).record()["huge_pages"] is False
    monkeypatch.setattr(huge_pages, "kernel_mode", lambda: "never")
    assert "offers none" in plan_execution("fp32", torch.device("cpu")).huge_pages.reason


# A fresh interpreter runs the CLI's main() up to a command's own --help (after the switch,
# before any tensor), then allocates 16 MiB and reports the huge pages of its mapping.
PROBE = textwrap.dedent(
    """
    import os, sys
    from lrlc.experiments.cli import main
    try:
        main(["bench", "layers", "--help"])
    except SystemExit:
        pass
    import torch
    x = torch.ones(4 * 2**20)
    addr, inside, huge = x.data_ptr(), False, 0
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= addr < hi
            elif inside and line.startswith("AnonHugePages:"):
                huge = int(line.split()[1])
    print(os.environ.get("THP_MEM_ALLOC_ENABLE"), huge)
    """
)


def _probe() -> tuple[str, int]:
    """(the variable, KiB of huge pages under a fresh tensor) in a process where the user did
    not set the variable."""
    env = {k: v for k, v in os.environ.items() if k != ENV}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    value, huge = out.stdout.split()[-2:]
    return value, int(huge)


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="needs Linux's smaps")
def test_the_command_sets_the_variable_before_torch_reads_it():
    mode = kernel_mode()
    value, huge = _probe()
    if mode not in huge_pages.KERNEL_OFFERS:
        assert value == "None"  # printed: the variable was left unset
        return
    assert value == "1"
    if mode == "madvise":
        # In this mode only a madvise gives a mapping huge pages, so torch made one: the switch
        # took effect (had anything allocated a tensor before main(), torch would have read
        # the variable unset; the user's own "0" is kept, test above).
        assert huge > 0

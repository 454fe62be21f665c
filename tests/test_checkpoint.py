"""Atomic records: readable modes, nothing lost on failure, and safe checkpoint errors."""

import errno
import fractions
import json
import os
import pathlib
import stat

import pytest
import torch

from lrlc.experiments import files as checkpoint
from lrlc.experiments.files import (
    _atomic_write,
    explain_os_error,
    load_checkpoint,
    save_checkpoint,
    write_json,
    write_text,
)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test, and restore it after."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _no_temp_files(folder) -> bool:
    return not [p for p in os.listdir(folder) if p.endswith(".tmp")]


# --- modes ---------------------------------------------------------------------------------


def test_records_get_the_umask_mode_not_mkstemps_0600(tmp_path, umask):
    umask(0o022)
    write_json(tmp_path / "result.json", {"a": 1})
    save_checkpoint(tmp_path / "checkpoint.pt", {"w": torch.ones(2)})
    write_text(tmp_path / "metrics.jsonl", "{}\n")
    for name in ("result.json", "checkpoint.pt", "metrics.jsonl"):
        assert _mode(tmp_path / name) == 0o644, name
    umask(0o027)
    write_json(tmp_path / "result.json", {"a": 2})
    assert _mode(tmp_path / "result.json") == 0o640
    assert json.loads((tmp_path / "result.json").read_text()) == {"a": 2}


def test_umask_is_read_without_proc_too(tmp_path, umask, monkeypatch):
    def no_proc(*args, **kwargs):
        raise OSError(errno.ENOENT, "No such file or directory", "/proc/self/status")

    monkeypatch.setattr(checkpoint, "open", no_proc, raising=False)
    umask(0o022)
    write_json(tmp_path / "result.json", {})
    assert _mode(tmp_path / "result.json") == 0o644
    assert os.umask(0o022) == 0o022  # restored


# --- failures keep what was written ----------------------------------------------------------


def test_a_failed_write_keeps_the_old_file_and_names_the_target(tmp_path):
    path = tmp_path / "result.json"
    write_json(path, {"old": True})

    def disk_full(f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as caught:
        _atomic_write(path, disk_full)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert json.loads(path.read_text()) == {"old": True}
    assert _no_temp_files(tmp_path)


def test_writing_over_a_folder_keeps_the_folder(tmp_path):
    folder = tmp_path / "out.pt"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    with pytest.raises(IsADirectoryError) as caught:
        save_checkpoint(folder, {"w": torch.ones(1)})
    assert caught.value.filename == str(folder)  # the target, not the temp file
    assert (folder / "keep.txt").read_text() == "keep"
    assert _no_temp_files(tmp_path)


def test_os_errors_are_explained_in_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = {
        FileExistsError(errno.EEXIST, "File exists", str(blocker)): "is a file where a folder",
        NotADirectoryError(errno.ENOTDIR, "Not a directory", str(blocker / "a")): "is a file,",
        IsADirectoryError(errno.EISDIR, "Is a directory", str(tmp_path)): "is a folder",
        PermissionError(errno.EACCES, "Permission denied", "/x/y"): "permission denied",
        OSError(errno.ENOSPC, "No space left on device", "/x/y"): "No space left",
    }
    for err, words in cases.items():
        text = explain_os_error(err)
        assert words in text and err.filename in text and "\n" not in text
        assert "--out" in text
    assert explain_os_error(FileNotFoundError("no checkpoint.pt in x")) == "no checkpoint.pt in x"


# --- unreadable checkpoints ------------------------------------------------------------------


def _assert_safe_message(err: RuntimeError, path) -> None:
    text = str(err)
    assert str(path) in text
    assert "weights_only" not in text and "weights_only" not in repr(err.__cause__)
    assert "cannot be read as a weights-only checkpoint" in text
    assert "corrupt, truncated, or not written by lrlc" in text
    assert "delete it or move it away to restart the run" in text


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"model": {"w": torch.randn(64, 64)}})
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(RuntimeError) as caught:
        load_checkpoint(path)
    _assert_safe_message(caught.value, path)


def test_checkpoint_with_a_global_that_is_not_allowed(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"config": fractions.Fraction(1, 2)}, path)
    with pytest.raises(RuntimeError) as caught:
        load_checkpoint(path)
    _assert_safe_message(caught.value, path)
    assert "fractions.Fraction" in str(caught.value)


class _Touch:
    """Unpickling this creates a file: a stand-in for code a malicious checkpoint runs."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_checkpoint_with_code_is_not_run(tmp_path):
    path, marker = tmp_path / "checkpoint.pt", tmp_path / "ran"
    torch.save({"config": _Touch(marker)}, path)
    with pytest.raises(RuntimeError) as caught:
        load_checkpoint(path)
    _assert_safe_message(caught.value, path)
    assert not marker.exists()


def test_missing_checkpoint_is_a_file_error_not_corruption(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.pt")

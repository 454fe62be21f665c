"""Run provenance: the code version is read once per process."""

import subprocess

from lrlc.experiments import provenance


def test_git_commit_is_read_once_per_process(monkeypatch):
    provenance.git_commit.cache_clear()
    first = provenance.git_commit()
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout="f" * 40, stderr="")

    # A commit made after the first read (here: git answering something else) is not seen.
    monkeypatch.setattr(provenance.subprocess, "run", spy)
    assert provenance.git_commit() == first
    assert calls == []
    provenance.git_commit.cache_clear()
    assert provenance.git_commit().startswith("f" * 40)
    provenance.git_commit.cache_clear()

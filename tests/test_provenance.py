"""The commit a run records: '+dirty' for uncommitted changes to the package's code, and not
for the records and reports a sweep writes into the same checkout."""

import subprocess

from lrlc.experiments import provenance


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_only_the_package_code_makes_a_commit_dirty(tmp_path, monkeypatch):
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "code.py").write_text("x = 1\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "sweep.json").write_text("{}\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(provenance, "_SOURCE", package)

    def commit():
        provenance.git_commit.cache_clear()
        return provenance.git_commit()

    try:
        clean = commit()
        assert len(clean) == 40 and "dirty" not in clean
        (tmp_path / "docs" / "sweep.json").write_text('{"sessions": [1]}\n')  # a record
        (tmp_path / "docs" / "new.json").write_text("{}\n")
        assert commit() == clean
        (package / "code.py").write_text("x = 2\n")  # the code itself
        assert commit() == clean + "+dirty"
    finally:
        provenance.git_commit.cache_clear()  # the next caller reads the real checkout

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    # No test may read or fill the user's real cache by accident.
    monkeypatch.setenv("LRLC_DATA_DIR", str(tmp_path_factory.mktemp("default_data_dir")))

"""The analyst's environment for `gwo` subcommands run in process: a `$DAGSTER_HOME` of the
repository's `dagster.yaml`, the sandbox as `$KF_DATASERVICE_URL` (each test module brings
its own ``stack``), moto's dummy credentials, no token."""

import shutil

import pytest

from gwo_assets_tests.e2e.conftest import REPO


@pytest.fixture
def dagster_home(tmp_path, monkeypatch, stack):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KF_DATASERVICE_URL", stack.info["dataservice_url"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("KF_DATASERVICE_TOKEN", raising=False)
    return home

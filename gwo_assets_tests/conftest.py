"""Safety net for every test: dummy AWS credentials, no profile, so nothing can reach real AWS.

Also exposes the real PostgreSQL fixtures (``postgres``, ``postgres_database_url``; see
gwo_assets_tests/postgres_server.py), started only by the tests that ask for them.
"""

import pytest

from gwo_assets_tests.postgres_server import postgres, postgres_database_url  # noqa: F401


@pytest.fixture(autouse=True)
def sandbox_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

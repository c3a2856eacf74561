"""Fixtures for the sandbox tests."""

from collections.abc import Iterator

import pytest

from gwo_assets.sandbox.dataservice import SandboxDataService


@pytest.fixture
def dataservice() -> Iterator[SandboxDataService]:
    """A started sandbox DataService on a fresh temporary database."""
    with SandboxDataService() as service:
        yield service

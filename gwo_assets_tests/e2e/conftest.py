"""End-to-end fixtures: a sandbox stack and the environment a CLI/web-server process needs."""

import os
import shutil
from pathlib import Path

import pytest

from gwo_assets.sandbox.stack import SandboxStack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=12, seed=23, workdir=tmp_path / "sandbox") as running:
        yield running


@pytest.fixture
def process_env(tmp_path, stack) -> dict[str, str]:
    """A clean environment: sandbox URL, dummy AWS credentials, a DAGSTER_HOME of its own."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "KF_", "DAGSTER_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", DAGSTER_HOME=str(home),
               KF_DATASERVICE_URL=stack.info["dataservice_url"])
    return env

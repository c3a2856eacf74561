"""One sandbox study for the whole errors package, dummy AWS credentials per test.

The study is generated once (a dozen seconds); tests that write load disjoint sets of its
files (see each module), so their order does not matter. Its bucket has a name of its own
because moto's state is shared by every sandbox in the process.
"""

from collections.abc import Iterator

import pytest

from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.errors import StudyFacts

BUCKET = "gwo-errors"
AWS_CREDENTIAL_SOURCES = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
)


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> Iterator[SandboxStack]:
    with SandboxStack(specimens=4, seed=5, bucket=BUCKET,
                      workdir=tmp_path_factory.mktemp("errors-sandbox")) as running:
        yield running


@pytest.fixture(scope="package")
def facts(stack) -> StudyFacts:
    return StudyFacts.of(stack.study)


@pytest.fixture(autouse=True)
def sandbox_aws_credentials(monkeypatch) -> None:
    """The moto sandbox accepts any key; nothing of the user's AWS setup gets in."""
    for name in AWS_CREDENTIAL_SOURCES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

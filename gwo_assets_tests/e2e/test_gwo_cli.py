"""The `gwo` console script as an analyst runs it: dry run, --write, a blocking failure's exit
code, the runs in the instance of $DAGSTER_HOME with their partition, the token never shown."""

import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance

from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.e2e.conftest import REPO

pytestmark = pytest.mark.e2e
GWO = Path(sys.executable).parent / "gwo"
TOKEN = "s3cr3t-token-never-printed"


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=6, seed=41, workdir=tmp_path / "sandbox", token=TOKEN) as running:
        yield running


def gwo(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(GWO), *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_gwo_ingest_dry_run_write_and_failure(stack, process_env, tmp_path):
    env = {**process_env, "KF_DATASERVICE_TOKEN": TOKEN}
    study, manifest = stack.info["study_id"], stack.info["manifest"]
    common = ["--report-dir", str(tmp_path / "reports"), "--s3-endpoint-url",
              stack.info["s3_endpoint_url"]]
    stack.dataservice.reset_counts()

    dry = gwo("ingest", study, manifest, *common, env=env)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert f"GWO ingest SUCCESS (dry run) for {study}" in dry.stdout
    assert "harmonized_file_s3_metadata - S3 metadata:" in dry.stderr  # progress while it runs
    assert stack.dataservice.write_count() == 0

    real = gwo("ingest", study, manifest, *common, "--write", env=env)
    assert real.returncode == 0, real.stderr[-3000:]
    assert f"GWO ingest SUCCESS (real run) for {study}" in real.stdout
    assert stack.dataservice.request_counts()["POST /genomic-files"] == len(stack.study.harmonized)

    missing = gwo("ingest", study, str(tmp_path / "missing.tsv"), *common, "--write", env=env)
    assert missing.returncode == 2  # checked before any run (issue 21 item 5)
    assert missing.stderr.strip() == (f"gwo: error: MANIFEST {tmp_path / 'missing.tsv'} does not "
                                      "exist: give the path of the GWO manifest (TSV, CSV or "
                                      "XLSX) or an s3://bucket/key URI")

    for result in (dry, real, missing):
        assert TOKEN not in result.stdout + result.stderr
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
    assert len(runs) == 2 and {run.tags["dagster/partition"] for run in runs} == {study}

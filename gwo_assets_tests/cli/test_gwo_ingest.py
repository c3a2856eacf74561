"""`gwo ingest` in process on a sandbox study, with an instance of its own ($DAGSTER_HOME in a
temp folder): dry run, --write, a blocking failure; the runs are in the instance with their
partition, and the partition is registered."""

import shutil

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from gwo_assets.cli import EXIT_FAILED, EXIT_OK, main
from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.e2e.conftest import REPO


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=4, seed=37, workdir=tmp_path / "sandbox") as running:
        yield running


@pytest.fixture
def dagster_home(tmp_path, monkeypatch, stack):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KF_DATASERVICE_URL", stack.info["dataservice_url"])
    monkeypatch.delenv("KF_DATASERVICE_TOKEN", raising=False)
    return home


def gwo(stack, reports, *extra: str, manifest=None) -> int:
    return main(["ingest", stack.info["study_id"], str(manifest or stack.info["manifest"]),
                 "--report-dir", str(reports), "--s3-endpoint-url", stack.info["s3_endpoint_url"],
                 *extra])


def test_dry_run_then_write_on_the_users_instance(stack, dagster_home, tmp_path, capsys):
    study, reports = stack.info["study_id"], tmp_path / "reports"
    stack.dataservice.reset_counts()
    assert gwo(stack, reports) == EXIT_OK
    out = capsys.readouterr().out
    assert f"GWO ingest SUCCESS (dry run) for {study}" in out
    assert f"To load it: gwo ingest {study} " in out and "--write" in out
    assert stack.dataservice.write_count() == 0

    assert gwo(stack, reports, "--write") == EXIT_OK
    out = capsys.readouterr().out
    assert f"GWO ingest SUCCESS (real run) for {study}" in out
    assert stack.dataservice.request_counts()["POST /genomic-files"] == len(stack.study.harmonized)

    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert instance.has_dynamic_partition(STUDY_PARTITIONS.name, study)
        latest = instance.get_latest_materialization_event(AssetKey("gwo_manifest"))
    assert latest.dagster_event.partition == study and latest.run_id == runs[0].run_id
    assert [run.job_name for run in runs] == ["ingest_gwo", "ingest_gwo"]
    assert all(run.status == DagsterRunStatus.SUCCESS for run in runs)
    assert all(run.tags["dagster/partition"] == study for run in runs)
    assert all((reports / run.run_id / "report.json").exists() for run in runs)
    assert f"Report JSON: {reports / runs[0].run_id / 'report.json'}" in out  # newest first


def test_a_blocking_failure_exits_1_and_writes_nothing(stack, dagster_home, tmp_path, capsys):
    text = stack.study.manifest.read_text()
    line = text.splitlines()[1]
    bad = tmp_path / "bad.tsv"
    bad.write_text(text.replace(line, line.replace(line.split("\t")[6], "gvcf", 1), 1))
    stack.dataservice.reset_counts()
    assert gwo(stack, tmp_path / "reports", "--write", manifest=bad) == EXIT_FAILED
    assert stack.dataservice.write_count() == 0
    assert "GWO ingest FAILED (real run)" in capsys.readouterr().out
    with DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
    assert run.status == DagsterRunStatus.FAILURE
    assert run.tags["dagster/partition"] == stack.info["study_id"]

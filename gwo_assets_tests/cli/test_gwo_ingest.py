"""`gwo ingest` in process on a sandbox study, with an instance of its own ($DAGSTER_HOME in a
temp folder): dry run, --write, a blocking failure; the runs are in the instance with their
partition, and the partition is registered."""

import socket
import time

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from gwo_assets.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from gwo_assets.partitions import STUDY_PARTITIONS, register_study
from gwo_assets.sandbox.stack import SandboxStack


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=4, seed=37, workdir=tmp_path / "sandbox") as running:
        yield running




def gwo(stack, reports, *extra: str, manifest=None) -> int:
    return main(["ingest", stack.info["study_id"], str(manifest or stack.info["manifest"]),
                 "--report-dir", str(reports), "--s3-endpoint-url", stack.info["s3_endpoint_url"],
                 *extra])


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
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


def test_a_blocking_failure_exits_1_and_writes_nothing(stack, dagster_home, tmp_path, capfd):
    text = stack.study.manifest.read_text()
    line = text.splitlines()[1]
    bad = tmp_path / "bad.tsv"
    bad.write_text(text.replace(line, line.replace(line.split("\t")[6], "gvcf", 1), 1))
    stack.dataservice.reset_counts()
    assert gwo(stack, tmp_path / "reports", "--write", manifest=bad) == EXIT_FAILED
    assert stack.dataservice.write_count() == 0
    out, err = capfd.readouterr()
    assert "GWO ingest FAILED (real run)" in out
    with DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
    assert run.status == DagsterRunStatus.FAILURE
    assert run.tags["dagster/partition"] == stack.info["study_id"]
    # issue 21 item 7: the last lines name the first blocking problem and the report; an
    # expected failure prints no stack trace, and no "Dependencies for step ..." line per step
    *_, cause, report = out.strip().splitlines()
    assert cause == ("Cause: row 2, column 'Data Type': 'gvcf' - expected one of the 161 "
                     "DataService Data Type values; did you mean 'gVCF'? (values are "
                     "case-sensitive) (check manifest_is_well_formed)")
    assert report == f"Report: {tmp_path / 'reports' / run.run_id / 'report.md'}"
    assert "Stack Trace" not in err and "Traceback" not in err and 'File "' not in err, err
    assert "Not executing" not in err and "step(s) not executed" in err
    assert len(err.splitlines()) < 25, err


def test_an_unexpected_error_keeps_its_stack_trace_and_is_named_last(stack, dagster_home,
                                                                     tmp_path, capfd,
                                                                     monkeypatch):
    """A bug (not a check, not bad input) still shows Dagster's stack trace; the cause line
    names it."""
    from gwo_assets.resources.dataservice import DataServiceResource

    def broken(self):
        raise RuntimeError("a bug in the client")

    monkeypatch.setattr(DataServiceResource, "get_client", broken)
    assert gwo(stack, tmp_path / "reports") == EXIT_FAILED
    out, err = capfd.readouterr()
    assert "Stack Trace" in err and "RuntimeError: a bug in the client" in err
    assert "a bug in the client" in out.strip().splitlines()[-2]


def test_an_unknown_study_is_refused_before_anything_is_registered(stack, dagster_home,
                                                                     capsys):
    """Issue 21 item 3: a well-formed id of no study: one GET, exit 2, no partition, no run."""
    stack.dataservice.reset_counts()
    assert main(["ingest", "SD_ZZZZZZZZ", str(stack.info["manifest"]), "--s3-endpoint-url",
                 stack.info["s3_endpoint_url"]]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.strip() == (
        f"gwo: error: Study SD_ZZZZZZZZ does not exist in the DataService at "
        f"{stack.info['dataservice_url']} (GET /studies/SD_ZZZZZZZZ answered 404): check the "
        "study id (and the DataService URL); nothing ran and no partition was registered")
    assert stack.dataservice.request_counts() == {"GET /studies": 1}
    with DagsterInstance.get() as instance:
        assert not instance.has_dynamic_partition(STUDY_PARTITIONS.name, "SD_ZZZZZZZZ")
        assert instance.get_runs() == []


def test_an_unreachable_dataservice_is_said_at_once_and_registers_nothing(stack, dagster_home,
                                                                           capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    started = time.monotonic()
    assert main(["ingest", stack.info["study_id"], str(stack.info["manifest"]),
                 "--dataservice-url", url]) == EXIT_FAILED
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert f"could not check that study {stack.info['study_id']} exists: DataService at {url} " \
           "is unavailable" in err and "no partition was registered" in err
    with DagsterInstance.get() as instance:
        assert not instance.has_dynamic_partition(STUDY_PARTITIONS.name, stack.info["study_id"])


def test_remove_partition_deletes_a_registered_study(dagster_home, capsys):
    """Dagster's commands cannot delete a dynamic partition key; `gwo remove-partition` can."""
    with DagsterInstance.get() as instance:
        register_study(instance, "SD_ZZZZZZZZ")
    assert main(["remove-partition", "sd_zzzzzzzz"]) == EXIT_OK
    assert "Removed partition SD_ZZZZZZZZ of gwo_study" in capsys.readouterr().out
    with DagsterInstance.get() as instance:
        assert not instance.has_dynamic_partition(STUDY_PARTITIONS.name, "SD_ZZZZZZZZ")
    assert main(["remove-partition", "SD_ZZZZZZZZ"]) == EXIT_OK
    assert "nothing to remove" in capsys.readouterr().out

"""Two real runs for one study never write at the same time: the second fails before reading.

The lock is named by the Dagster instance alone: every run of the instance (ingest or undo)
takes the same lock, and no run config can move it (issue 21 item 1).
"""

import subprocess
import sys

import pytest
from dagster import DagsterInstance
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.storage.dagster_run import DagsterRun

from gwo_assets.definitions import defs
from gwo_assets.resources import study_lock
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import execute_ingest, run_config, run_ingest

HOLD = """
import sys, time
from dagster import DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun
from gwo_assets.resources import study_lock
with DagsterInstance.get() as instance:  # the $DAGSTER_HOME the test shares
    instance.add_run(DagsterRun(job_name="ingest_gwo", run_id="other-run"))
    study_lock.acquire(instance, sys.argv[1], "other-run")
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=3, seed=31, workdir=tmp_path / "sandbox") as running:
        yield running


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """The instance of a temporary ``$DAGSTER_HOME``, whose lock dir the holder processes
    (``DagsterInstance.get()``) and this process's runs share. The local SQLite instance is
    created here first (two processes creating one at once race on its tables); this
    process's runs use an in-memory instance rooted at the same home (same lock dir, and
    about half the time of writing every run's events to SQLite)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as local:
        local.get_runs(limit=1)
    with DagsterInstance.ephemeral(tempdir=str(home)) as shared:
        assert study_lock.instance_lock_dir(shared) == study_lock.instance_lock_dir(local)
        yield shared


def hold_lock_in_another_process(study_id) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, study_id],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
def test_a_second_real_run_for_the_same_study_fails_without_writing(stack, instance, tmp_path):
    holder = hold_lock_in_another_process(stack.info["study_id"])
    try:
        stack.dataservice.reset_counts()
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, instance=instance)
        assert not result.success
        assert stack.dataservice.write_count() == 0
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        assert failure.step_key == "kf_study"
        assert "Another ingest_gwo or undo_gwo run is loading" in failure.event_specific_data.user_failure_data.description
        assert "other-run" in failure.event_specific_data.user_failure_data.description
        dry = run_ingest(stack.info, tmp_path / "reports", dry_run=True, instance=instance)
        assert dry.success  # a dry run writes nothing, so it needs no lock
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the killed holder's lock: the load now goes through.
    assert run_ingest(stack.info, tmp_path / "reports", dry_run=False, instance=instance).success
    assert stack.dataservice.write_count() > 0


def test_a_run_config_cannot_move_the_study_lock(stack, instance, tmp_path):
    """Issue 21 item 1: a run that named a ``lock_dir`` of its own took another lock file and
    loaded beside the holder (and an undo did not exclude it). No run setting names the lock
    now: such a config is refused before any step, and writes nothing."""
    holder = hold_lock_in_another_process(stack.info["study_id"])
    try:
        stack.dataservice.reset_counts()
        config = run_config(stack.info, dry_run=False, report_dir=tmp_path / "reports")
        config["resources"]["ingest"]["config"]["lock_dir"] = str(tmp_path / "elsewhere")
        with pytest.raises(DagsterInvalidConfigError, match="lock_dir"):
            execute_ingest(defs.resolve_job_def("ingest_gwo"), config, instance)
        assert stack.dataservice.write_count() == 0
        with pytest.raises(DagsterInvalidConfigError, match="lock_dir"):
            defs.resolve_job_def("undo_gwo").execute_in_process(
                run_config={"ops": {"undo_ingest": {"config": {
                    "report": str(tmp_path / "report.json"), "dry_run": False,
                    "lock_dir": str(tmp_path / "elsewhere")}}}},
                instance=instance, raise_on_error=False)
        assert stack.dataservice.write_count() == 0
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_named_by_the_instance(tmp_path):
    first, second = DagsterInstance.ephemeral(), DagsterInstance.ephemeral()
    assert study_lock.lock_path(first, "SD_0A1B2C3D") == (
        study_lock.instance_lock_dir(first) / "SD_0A1B2C3D.lock")
    assert study_lock.instance_lock_dir(first) == (
        study_lock.instance_lock_dir(DagsterInstance.ephemeral(tempdir=first.root_directory)))
    assert study_lock.instance_lock_dir(first) != study_lock.instance_lock_dir(second)
    with pytest.raises(ValueError, match="named by the Dagster instance"):
        study_lock.acquire(None, "SD_0A1B2C3D", "run-1")


def test_write_steps_refuse_without_the_lock():
    instance = DagsterInstance.ephemeral()
    instance.add_run(DagsterRun(job_name="ingest_gwo", run_id="run-1"))
    with pytest.raises(Exception, match="does not hold the load lock"):
        study_lock.require("SD_0A1B2C3D", "run-without-lock")
    study_lock.acquire(instance, "SD_0A1B2C3D", "run-1")
    try:
        study_lock.require("SD_0A1B2C3D", "run-1")
        with pytest.raises(Exception, match="does not hold"):
            study_lock.require("SD_0A1B2C3D", "run-2")
    finally:
        study_lock.release("SD_0A1B2C3D", "run-1")
    with pytest.raises(Exception, match="does not hold"):
        study_lock.require("SD_0A1B2C3D", "run-1")

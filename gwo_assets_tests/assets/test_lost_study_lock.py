"""A run that loses its study lock during its writes stops writing and fails (issue 21 item 2).

The run's genomic-file POSTs are held at the sandbox DataService (``hold``) while the lock is
lost, for longer than the write loop's re-check interval (``study_lock.watch``, 2 s); then the
held POSTs go on. Only those (sent before the loss) may land: every later write is refused,
the step fails naming the lost lock, and no link is written.

How the lock is lost: on a Postgres instance the server ends the lock's session
(``pg_terminate_backend``, as when the server drops a vanished host); on a SQLite instance
the flock is gone (its file closed, as when its holder dies) or the lock file is removed (so
another run could flock a new file at the same path).

While the first run writes, a second run of the study in the same process is refused, naming
the first (``_still_running``: a live run's lock is never taken over as a stale one).
"""

import threading
import time
from collections.abc import Callable

import pytest
import yaml
from dagster import DagsterInstance, RunsFilter
from dagster._core.storage.dagster_run import DagsterRun
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gwo_assets.errors import ConcurrentLoadError
from gwo_assets.resources import study_lock
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import run_ingest, stored_files

WATCH_SECONDS = 2.0  # study_lock.watch's default, which the write steps use
IN_FLIGHT = 2  # dataservice.max_concurrency of these runs: POSTs held at the loss


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=3, seed=41, workdir=tmp_path / "sandbox") as running:
        yield running


def local_instance(tmp_path, monkeypatch, storage: dict | None = None) -> DagsterInstance:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(
        {"telemetry": {"enabled": False}, **({"storage": storage} if storage else {})}))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return DagsterInstance.get()


def wait_until(condition: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def lose_the_lock_during_the_writes(stack, instance: DagsterInstance, tmp_path,
                                    lose: Callable[[str, str], None]) -> None:
    study = stack.info["study_id"]
    planned = len(stack.study.harmonized)
    assert planned > 2 * IN_FLIGHT, planned
    stack.dataservice.reset_counts()  # the seed's own POSTs
    gate = stack.dataservice.hold("POST", "/genomic-files")
    outcome: dict = {}
    writer = threading.Thread(target=lambda: outcome.update(result=run_ingest(
        stack.info, tmp_path / "reports", dry_run=False, instance=instance,
        dataservice={"max_concurrency": IN_FLIGHT})), daemon=True)
    writer.start()
    try:
        wait_until(lambda: gate.arrived >= IN_FLIGHT or not writer.is_alive(),
                   "the first genomic-file POSTs")
        assert writer.is_alive(), "the run ended before its writes"
        [record] = instance.get_run_records(RunsFilter(tags={study_lock.STUDY_TAG: study}))
        run_id = record.dagster_run.run_id

        # A second run of the study in this process: refused while the first one runs.
        instance.add_run(DagsterRun(job_name="ingest_gwo", run_id="a-second-run"))
        try:
            study_lock.acquire(instance, study, "a-second-run")
        except ConcurrentLoadError as refused:
            assert run_id in str(refused)
        else:
            study_lock.release(study, "a-second-run")
            pytest.fail("a second run took over the lock of a run still writing")

        lose(study, run_id)
        time.sleep(WATCH_SECONDS + 0.5)  # the write loop's next check sees the loss
        assert gate.arrived == IN_FLIGHT
    finally:
        gate.release()
        writer.join(timeout=300)
    result = outcome["result"]

    # Stored state: only the POSTs already at the server when the lock was lost.
    url = stack.info["dataservice_url"]
    stored = [output for output in stack.study.harmonized
              if stored_files(url, output.filepath)]
    counts = stack.dataservice.request_counts()
    assert counts.get("POST /genomic-files", 0) == IN_FLIGHT, counts
    assert len(stored) == IN_FLIGHT, [output.filepath for output in stored]
    assert counts.get("POST /biospecimen-genomic-files", 0) == 0, counts
    assert counts.get("POST /sequencing-experiment-genomic-files", 0) == 0, counts

    # The run failed in the step that lost the lock, naming it.
    assert not result.success
    failures = {event.step_key: event.event_specific_data.user_failure_data.description
                for event in result.all_events if event.event_type_value == "STEP_FAILURE"}
    assert "genomic_files" in failures, failures
    assert f"This run lost the load lock for {study}" in failures["genomic_files"]
    assert f"{planned - IN_FLIGHT} genomic_files write(s) failed" in failures["genomic_files"]


@pytest.mark.parametrize("how", ["file_closed", "file_removed"])
def test_a_run_that_loses_its_file_lock_stops_writing_and_fails(stack, tmp_path, how):
    instance = DagsterInstance.ephemeral()  # its lock dir: <its temp root>/gwo_assets

    def lose(study: str, run_id: str) -> None:
        path = study_lock.lock_path(instance, study)
        if how == "file_closed":  # the flock is dropped, as when its holder dies
            study_lock._held[study].lock.handle.close()
        else:  # removed (e.g. someone cleared $DAGSTER_HOME/gwo_assets)
            path.unlink()
            # ... so another run can flock a new file at the same path: the lock no longer
            # excludes anyone
            other = study_lock._take_file(path, "another-run")
            assert other is not None
            other.release()

    with instance:
        lose_the_lock_during_the_writes(stack, instance, tmp_path, lose)


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
def test_a_run_whose_lock_session_is_terminated_stops_writing_and_fails(
        stack, tmp_path, monkeypatch, postgres_database_url):
    instance = local_instance(tmp_path, monkeypatch,
                              {"postgres": {"postgres_url": postgres_database_url}})

    def lose(study: str, run_id: str) -> None:
        engine = create_engine(postgres_database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                ended = connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"),
                    {"name": study_lock.APPLICATION_NAME.format(run_id=run_id)}).all()
        finally:
            engine.dispose()
        assert ended == [(True,)], ended

    with instance:
        assert study_lock.postgres_url(instance)
        lose_the_lock_during_the_writes(stack, instance, tmp_path, lose)

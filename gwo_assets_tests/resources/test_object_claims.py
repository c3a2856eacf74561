"""The object-claim store (resources/object_claims.py) on the instances runs really share.

SQLite: one ``$DAGSTER_HOME`` (two processes of one machine); Postgres: the test session's own
PostgreSQL (``postgres_database_url``), as ``deploy/dagster.yaml`` uses it. A claim counts only
while its run holds its study lock: a SIGKILLed holder's claim is ignored at once.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun

from gwo_assets.errors import ConcurrentLoadError
from gwo_assets.resources import object_claims, study_lock

A, B, C = "SD_AAAAAAAA", "SD_BBBBBBBB", "SD_CCCCCCCC"
X, Y, Z = "s3://b/x.cram", "s3://b/y.cram", "s3://b/z.cram"

HOLDER = """
import sys, time
from dagster import DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun
from gwo_assets.resources import object_claims, study_lock

study, run_id, *filepaths = sys.argv[1:]
with DagsterInstance.get() as instance:
    instance.add_run(DagsterRun(job_name="ingest_gwo", run_id=run_id))
    study_lock.acquire(instance, study, run_id)
    object_claims.claim(instance, study, run_id, filepaths, dry_run=False)
    print("claimed", flush=True)
    time.sleep(300)
"""


def home_for(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    config: dict = {"telemetry": {"enabled": False}}
    if kind == "postgres":
        config["storage"] = {"postgres": {
            "postgres_url": request.getfixturevalue("postgres_database_url")}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


@pytest.fixture(params=["sqlite", "postgres"])
def instance(request, tmp_path, monkeypatch):
    home = home_for(request.param, tmp_path, request)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as shared:
        yield shared


def start_run(instance: DagsterInstance, study: str, run_id: str) -> None:
    instance.add_run(DagsterRun(job_name="ingest_gwo", run_id=run_id))
    study_lock.acquire(instance, study, run_id)


def test_first_claim_wins_dry_runs_only_read_and_a_released_claim_is_gone(instance):
    start_run(instance, A, "run-a")
    start_run(instance, B, "run-b")
    try:
        first = object_claims.claim(instance, A, "run-a", [X, Y], dry_run=False)
        assert (first.conflicts, first.claimed) == ({}, 2)
        on_postgres = study_lock.postgres_url(instance) is not None
        assert ("Postgres database" in first.where) == on_postgres, first.where
        second = object_claims.claim(instance, B, "run-b", [Y, Z], dry_run=False)
        assert {path: (c.study_id, c.run_id) for path, c in second.conflicts.items()} == {
            Y: (A, "run-a")}
        assert second.claimed == 1  # Z only: Y stays A's
        dry = object_claims.claim(instance, C, "run-c", [X, Y, Z], dry_run=True)
        assert {path: c.study_id for path, c in dry.conflicts.items()} == {X: A, Y: A, Z: B}
        assert dry.claimed == 0
        # the dry run recorded nothing: C is nobody's claimant
        assert C not in object_claims._loads(instance.run_storage.get_cursor_values(
            {object_claims.INDEX_KEY}).get(object_claims.INDEX_KEY), {})
    finally:
        study_lock.release(A, "run-a")
    try:
        after = object_claims.claim(instance, C, "run-c", [X, Y, Z], dry_run=True)
        assert {path: c.study_id for path, c in after.conflicts.items()} == {Z: B}
    finally:
        study_lock.release(B, "run-b")
    assert object_claims.claim(instance, C, "run-c", [X, Y, Z], dry_run=True).conflicts == {}


def test_a_real_run_claims_only_while_it_holds_its_study_lock(instance):
    with pytest.raises(ConcurrentLoadError, match="does not hold the load lock"):
        object_claims.claim(instance, A, "run-without-lock", [X], dry_run=False)


def test_a_killed_claimants_claim_dies_with_its_lock(instance, tmp_path):
    env = {**os.environ, "DAGSTER_HOME": os.environ["DAGSTER_HOME"]}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, A, "run-killed", X, Y], env=env,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert holder.stdout.readline().strip() == "claimed"
        seen = object_claims.claim(instance, B, "run-b", [Y, Z], dry_run=True)
        assert {path: c.run_id for path, c in seen.conflicts.items()} == {Y: "run-killed"}
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    # the kernel closed its file / the server ended its session: its claim no longer counts
    assert object_claims.claim(instance, B, "run-b", [Y, Z], dry_run=True).conflicts == {}
    start_run(instance, A, "run-a-again")  # and the probes never held A's study lock
    study_lock.release(A, "run-a-again")
    start_run(instance, B, "run-b")
    try:
        assert object_claims.claim(instance, B, "run-b", [Y, Z], dry_run=False).claimed == 2
    finally:
        study_lock.release(B, "run-b")

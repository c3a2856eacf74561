"""A Dagster instance on a real PostgreSQL, as a deployment runs it (dagster-postgres, psycopg2).

Two ``$DAGSTER_HOME``s (two hosts, say) whose ``dagster.yaml`` point at the same database: one
with a ``postgres_db:`` block (``scheme: postgresql+psycopg2``), one with a ``postgres_url:``
(``postgresql+psycopg2://``). ``dagster instance migrate`` runs once, then a job executed in one
process is seen, with its events, by another process on the other home; and it is in the
database. The driver is named because a plain ``postgresql://`` makes SQLAlchemy 2.1 pick
psycopg 3, with which dagster-postgres 0.29.27 cannot store events (see the last test).
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
import yaml

from gwo_assets_tests.postgres_server import libpq_url

TINY_JOB = '''
import json
import dagster as dg

@dg.op
def hello() -> int:
    return 1

@dg.job
def tiny():
    hello()

with dg.DagsterInstance.get() as instance:
    result = tiny.execute_in_process(instance=instance)
    print(json.dumps({"run_id": result.run_id, "success": result.success}))
'''
READ_RUN = '''
import json, sys
import dagster as dg

with dg.DagsterInstance.get() as instance:
    run = instance.get_run_by_id(sys.argv[1])
    events = instance.all_logs(sys.argv[1])
    print(json.dumps({
        "status": run.status.value, "job": run.job_name,
        "events": [e.dagster_event_type.name for e in events if e.is_dagster_event],
        "run_storage": type(instance.run_storage).__name__,
        "event_storage": type(instance.event_log_storage).__name__,
        "driver": instance.run_storage._engine.dialect.driver,
    }))
'''


def dagster_home(path: Path, storage: dict) -> Path:
    path.mkdir()
    (path / "dagster.yaml").write_text(yaml.safe_dump(
        {"storage": {"postgres": storage}, "telemetry": {"enabled": False}}))
    return path


def run(args: list[str], home: Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
    env["DAGSTER_HOME"] = str(home)
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
def test_two_dagster_homes_on_one_postgres_database_see_the_same_run(
        postgres_database_url, tmp_path):
    url = urlsplit(postgres_database_url)
    home_a = dagster_home(tmp_path / "home_a", {"postgres_db": {
        "username": url.username, "password": "", "hostname": url.hostname,
        "port": url.port, "db_name": url.path.lstrip("/"), "scheme": "postgresql+psycopg2"}})
    home_b = dagster_home(tmp_path / "home_b", {"postgres_url": postgres_database_url})
    dagster = str(Path(sys.executable).parent / "dagster")

    run([dagster, "instance", "migrate"], home_a, tmp_path)  # once, before several processes
    executed = json.loads(run([sys.executable, "-c", TINY_JOB], home_a, tmp_path)
                          .strip().splitlines()[-1])
    assert executed["success"] is True

    seen = json.loads(run([sys.executable, "-c", READ_RUN, executed["run_id"]], home_b, tmp_path)
                      .strip().splitlines()[-1])
    assert (seen["status"], seen["job"]) == ("SUCCESS", "tiny")
    assert {"RUN_START", "STEP_SUCCESS", "RUN_SUCCESS"} <= set(seen["events"])
    assert (seen["run_storage"], seen["event_storage"], seen["driver"]) == (
        "PostgresRunStorage", "PostgresEventLogStorage", "psycopg2")

    assert query(postgres_database_url, "SELECT status FROM runs WHERE run_id = %s",
                 executed["run_id"]) == [("SUCCESS",)]  # stored in the database itself
    assert not list(home_a.glob("**/*.db")) and not list(home_b.glob("**/*.db"))  # no SQLite


def query(url: str, sql: str, *params: object) -> list[tuple]:
    connection = psycopg2.connect(libpq_url(url))
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def test_each_test_gets_a_fresh_empty_database(postgres, postgres_database_url):
    assert postgres_database_url != postgres.url
    assert query(postgres_database_url, "SELECT count(*) FROM information_schema.tables "
                                        "WHERE table_schema = 'public'") == [(0,)]
    assert query(postgres_database_url, "SELECT current_user") == [("postgres",)]
    assert urlsplit(postgres.url).hostname == "127.0.0.1"


def test_a_plain_postgresql_url_fails_at_once_without_psycopg_3(postgres_database_url, tmp_path):
    """The deploy extra installs psycopg2 only, so an instance config that forgets the driver
    fails when the instance loads, not later on the first event (which psycopg 3 cannot store)."""
    home = dagster_home(tmp_path / "home", {"postgres_url": libpq_url(postgres_database_url)})
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
    done = subprocess.run([sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get()"],
                          env={**env, "DAGSTER_HOME": str(home)}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "No module named 'psycopg'" in done.stderr, done.stderr[-2000:]

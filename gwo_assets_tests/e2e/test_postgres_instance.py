"""One load per study across hosts: two `$DAGSTER_HOME`s on one Postgres-backed instance.

Each home's ``dagster.yaml`` is the documented ``deploy/dagster.yaml`` (its ``DAGSTER_PG_*``
variables pointing at the test session's own PostgreSQL), as two hosts of a deployment would
have it. Assertions read the sandbox's stored state.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gwo_assets.sandbox.dataservice import FaultConfig
from gwo_assets_tests.assets.test_ingest_job import assert_study_loaded
from gwo_assets_tests.e2e.conftest import REPO
from gwo_assets_tests.e2e.test_concurrent_runs import (SLOW_POSTS, assert_one_loaded_and_one_refused,
                                                       finish, real_config, start)
from gwo_assets_tests.reliability.test_interrupted_run import (KILL_AFTER_POSTS, wait_until,
                                                              writes_settled)
from gwo_assets_tests.reliability.conftest import (assert_no_duplicates, expected_counts,
                                                   stored_counts)
from gwo_assets_tests.support import execute_command, report_json

pytestmark = pytest.mark.e2e


@pytest.fixture
def hosts(postgres_database_url, process_env, tmp_path) -> list[dict[str, str]]:
    """The environments of two hosts: their own DAGSTER_HOME, one instance database."""
    url = urlsplit(postgres_database_url)
    database = {"DAGSTER_PG_HOST": url.hostname, "DAGSTER_PG_PORT": str(url.port),
                "DAGSTER_PG_USER": url.username, "DAGSTER_PG_PASSWORD": url.password or "",
                "DAGSTER_PG_DB": url.path.lstrip("/")}
    envs = []
    for name in ("host_a", "host_b"):
        home = tmp_path / name / "dagster_home"
        home.mkdir(parents=True)
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        envs.append({**process_env, **database, "DAGSTER_HOME": str(home)})
    migrated = subprocess.run([sys.executable, "-m", "dagster", "instance", "migrate"],
                              env=envs[0], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    return envs


def winner_run_id(reports: Path) -> str:
    [winner] = [folder.name for folder in reports.iterdir()
                if report_json(reports, folder.name)["status"] == "success"]
    return winner


def test_two_hosts_load_one_study_once_and_name_the_holder(stack, hosts, tmp_path):
    reports = tmp_path / "reports"
    config = real_config(stack.info, reports)
    stack.dataservice.set_faults(SLOW_POSTS)
    runs = [start(config, env, tmp_path, f"host-{i}") for i, env in enumerate(hosts)]
    outcomes = [finish(run) for run in runs]
    stack.dataservice.set_faults(None)

    assert_one_loaded_and_one_refused(outcomes)
    loser = next(err for code, err in outcomes if code != 0)
    # the holder is named by the database itself: the lock session carries its run id
    assert f"held by gwo_assets run {winner_run_id(reports)}" in loser
    assert_study_loaded(stack)
    assert_no_duplicates(stack)
    assert stored_counts(stack) == expected_counts(stack)

    stack.dataservice.reset_counts()
    code, err = finish(start(config, hosts[1], tmp_path, "third"))
    assert code == 0, err[-2000:]
    assert stack.dataservice.write_count() == 0


def test_a_killed_holder_never_blocks_the_study_and_another_host_completes_it(stack, hosts,
                                                                              tmp_path):
    """SIGKILL mid-write on host A; host B's rerun is not blocked (the database freed the
    lock with the killed session) and converges to exactly the uninterrupted state."""
    config = real_config(stack.info, tmp_path / "reports")
    stack.dataservice.set_faults(FaultConfig(latency_ms=100, methods=("POST",)))
    stack.dataservice.reset_counts()
    killed = subprocess.Popen(
        execute_command(write_config(config, tmp_path), stack.info["study_id"]), env=hosts[0],
        cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while stack.dataservice.request_counts().get("POST /genomic-files", 0) < KILL_AFTER_POSTS:
            assert killed.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.01)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    # POSTs in flight at the kill still complete on the server: wait until they have.
    wait_until(lambda: writes_settled(stack.dataservice), "in-flight writes")
    stack.dataservice.set_faults(None)
    assert 0 < stored_counts(stack)["genomic_files"] < expected_counts(stack)["genomic_files"]

    code, err = finish(start(config, hosts[1], tmp_path, "rerun"))

    assert code == 0, err[-3000:]
    assert_study_loaded(stack)
    assert_no_duplicates(stack)
    assert stored_counts(stack) == expected_counts(stack)


def write_config(config: dict, tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(config))
    return path

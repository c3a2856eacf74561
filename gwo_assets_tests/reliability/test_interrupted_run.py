"""A real run killed with SIGKILL in the middle of its writes, then rerun.

The run is the CLI a user starts (`dagster job execute`) in its own process
group. The sandbox answers POSTs slowly (latency only, no errors), so the write
steps take long enough to be caught: the test waits for the sandbox to have
received some POSTs of one endpoint, then kills the whole process group. Writes
the sandbox had already started still complete, their answers going nowhere,
which is the worst case for a rerun: records the killed run never heard of.

The rerun (no latency, from a fresh ``$DAGSTER_HOME``: another machine) must end in
exactly the state of an uninterrupted run,
with nothing duplicated, and its report must say what it did: a create for
every record that was missing after the kill, unchanged for every record the
killed run had stored. Those numbers come from the sandbox's stored state
between the two runs, not from either run's output.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import yaml

from gwo_assets.sandbox.dataservice import FaultConfig
from gwo_assets_tests.assets.test_ingest_job import assert_study_loaded
from gwo_assets_tests.e2e.conftest import REPO
from gwo_assets_tests.reliability.conftest import (assert_no_duplicates, expected_counts,
                                                   stored_counts)
from gwo_assets_tests.support import (execute_command, list_all, report_json, run_config,
                                      run_ingest, stored_files)

SLOW_POSTS = FaultConfig(latency_ms=100, methods=("POST",))
KILL_AFTER_POSTS = 20  # more than one round of max_concurrency (16): some answered, some in flight
STEPS = ("genomic_files", "biospecimen_genomic_files", "sequencing_experiment_genomic_files")


def cli_command(config: dict, tmp_path: Path, name: str) -> list[str]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return execute_command(path, config["resources"]["ingest"]["config"]["study_id"])


def wait_until(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    """Poll ``condition``; the limit only guards against a hung test, it is not asserted on."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.005)


def writes_settled(service, quiet_seconds: float = 1.0) -> bool:
    """True once the write count has not changed for ``quiet_seconds``."""
    before = service.write_count()
    time.sleep(quiet_seconds)
    return service.write_count() == before



@pytest.mark.e2e
@pytest.mark.parametrize("endpoint", [
    "/genomic-files",  # killed before every file has its biospecimen link
    "/biospecimen-genomic-files",
    "/sequencing-experiment-genomic-files",
])
def test_a_run_killed_during_its_writes_is_completed_by_a_rerun(stack, process_env, tmp_path,
                                                                 endpoint):
    service, reports = stack.dataservice, tmp_path / "reports"
    config = run_config(stack.info, dry_run=False, report_dir=reports)
    service.set_faults(SLOW_POSTS)
    service.reset_counts()
    killed = subprocess.Popen(cli_command(config, tmp_path, "killed"), env=process_env, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_until(lambda: service.request_counts().get(f"POST {endpoint}", 0) >= KILL_AFTER_POSTS
                   or killed.poll() is not None, f"{KILL_AFTER_POSTS} POST {endpoint}")
        still_running = killed.poll() is None
        os.killpg(killed.pid, signal.SIGKILL)
    finally:
        if killed.poll() is None:
            os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    assert still_running, "the run ended before it could be killed: give the sandbox more latency"
    assert killed.returncode == -signal.SIGKILL

    # The POSTs in flight at the kill still complete on the server (answers lost), except
    # one the kill cut off mid-body: wait until the server's write count stops moving.
    wait_until(lambda: writes_settled(service),
               f"in-flight writes ({service.request_counts()}, {service.write_count()} writes)")
    service.set_faults(None)
    assert_no_duplicates(stack)
    before, expected = stored_counts(stack), expected_counts(stack)
    assert 0 < sum(before.values()) < sum(expected.values()), before
    assert before[endpoint.strip("/").replace("-", "_")] > 0

    service.reset_counts()
    # The rerun comes from "another machine": a fresh DAGSTER_HOME (and so lock dir), nothing
    # of the killed run's local state.
    elsewhere = tmp_path / "another_machine"
    (elsewhere / "dagster_home").mkdir(parents=True)
    (elsewhere / "dagster_home" / "dagster.yaml").write_text(
        (Path(process_env["DAGSTER_HOME"]) / "dagster.yaml").read_text())
    rerun_config = run_config(stack.info, dry_run=False, report_dir=reports)
    rerun = subprocess.run(cli_command(rerun_config, tmp_path, "rerun"), cwd=REPO,
                           env={**process_env, "DAGSTER_HOME": str(elsewhere / "dagster_home")},
                           capture_output=True, text=True, timeout=600)

    assert_study_loaded(stack)
    assert_no_duplicates(stack)
    counts = service.request_counts()
    assert counts.get("PATCH /genomic-files", 0) == 0
    for step, path in zip(STEPS, ("/genomic-files", "/biospecimen-genomic-files",
                                  "/sequencing-experiment-genomic-files")):
        assert counts.get(f"POST {path}", 0) == expected[step] - before[step], step

    finished = [folder for folder in reports.iterdir() if (folder / "report.json").exists()]
    assert len(finished) == 1, "only the rerun wrote a report (SIGKILL leaves no hook to run)"
    steps = report_json(reports, finished[0].name)["steps"]
    for step in STEPS:
        assert steps[step] == {"create": expected[step] - before[step], "update": 0,
                               "unchanged": before[step], "failed": 0}, step
    assert rerun.returncode == 0, rerun.stderr[-3000:]


@pytest.mark.e2e  # slow (several job runs): make test-e2e
def test_files_left_without_links_are_reused_unchanged_and_linked(stack, tmp_path):
    """Fast, in process: the state a run killed between its file and link steps leaves
    (complete files, no links; here made by removing the links of a loaded study's files),
    then a rerun that knows nothing of the killed run. Same expectations as the CLI test."""
    url, reports = stack.info["dataservice_url"], tmp_path / "reports"
    assert run_ingest(stack.info, reports, dry_run=False).success
    orphans = stack.study.harmonized[::3]
    for harmonized in orphans:
        gf_id = stored_files(url, harmonized.filepath)[0]["kf_id"]
        for endpoint in ("/sequencing-experiment-genomic-files", "/biospecimen-genomic-files"):
            for link in list_all(url, endpoint, genomic_file_id=gf_id):
                assert requests.delete(f"{url}{endpoint}/{link['kf_id']}", timeout=30).ok
    before, expected = stored_counts(stack), expected_counts(stack)
    assert before["genomic_files"] == expected["genomic_files"]
    stack.dataservice.reset_counts()

    rerun = run_ingest(stack.info, reports, dry_run=False)

    assert_study_loaded(stack)
    assert_no_duplicates(stack)
    counts = stack.dataservice.request_counts()
    assert counts.get("POST /genomic-files", 0) == counts.get("PATCH /genomic-files", 0) == 0
    steps = report_json(reports, rerun.run_id)["steps"]
    for step in STEPS:
        assert steps[step] == {"create": expected[step] - before[step], "update": 0,
                               "unchanged": before[step], "failed": 0}, step
    assert rerun.success

"""Runs launched at the same moment, as two terminals would: `dagster job execute` processes.

Every assertion reads the sandbox's stored state (not the runs' reports): two runs of one
study never both write, two runs of two studies each load exactly their own manifest.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gwo_assets.sandbox.dataservice import FaultConfig
from gwo_assets.sandbox.generator import generate_study
from gwo_assets_tests.assets.test_ingest_job import assert_study_loaded
from gwo_assets_tests.e2e.conftest import REPO
from gwo_assets_tests.reliability.conftest import (assert_no_duplicates, expected_counts,
                                                   stored_counts)
from gwo_assets_tests.support import execute_command, run_config

pytestmark = pytest.mark.e2e
LOCK_MESSAGE = "Another ingest_gwo or undo_gwo run is loading"
# Slow POSTs keep the first load writing long after the second process has started.
SLOW_POSTS = FaultConfig(latency_ms=60, methods=("POST",))


def start(config: dict, env: dict, tmp_path: Path, name: str) -> subprocess.Popen:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.Popen(
        execute_command(path, config["resources"]["ingest"]["config"]["study_id"]), env=env,
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, err = process.communicate(timeout=600)
    return process.returncode, err


def real_config(info: dict, reports: Path, **overrides) -> dict:
    config = run_config(info, dry_run=False, report_dir=reports)
    config["resources"]["ingest"]["config"].update(overrides)
    return config


def assert_one_loaded_and_one_refused(outcomes: list[tuple[int, str]]) -> None:
    codes = sorted(code for code, _ in outcomes)
    assert codes[0] == 0 and codes[1] != 0, [err[-2000:] for _, err in outcomes]
    loser = next(err for code, err in outcomes if code != 0)
    assert LOCK_MESSAGE in loser
    assert "GWO ingest FAILED" in loser  # the report says where it stopped: before any read


def initialized(env: dict) -> dict:
    """A DAGSTER_HOME whose instance exists (as `make install` leaves it): two processes creating
    a fresh SQLite instance at the same moment race on its tables (Dagster's own limitation)."""
    done = subprocess.run([sys.executable, "-m", "dagster", "instance", "migrate"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return env


def test_two_runs_of_one_study_on_one_dagster_home_load_once(stack, process_env, tmp_path):
    process_env = initialized(process_env)
    config = real_config(stack.info, tmp_path / "reports")
    stack.dataservice.set_faults(SLOW_POSTS)
    runs = [start(config, process_env, tmp_path, f"run-{i}") for i in range(2)]
    outcomes = [finish(run) for run in runs]
    stack.dataservice.set_faults(None)

    assert_one_loaded_and_one_refused(outcomes)
    assert_study_loaded(stack)
    assert_no_duplicates(stack)
    assert stored_counts(stack) == expected_counts(stack)

    stack.dataservice.reset_counts()
    code, err = finish(start(config, process_env, tmp_path, "third"))
    assert code == 0, err[-2000:]
    assert stack.dataservice.write_count() == 0


def test_two_studies_launched_together_each_load_exactly_their_own_manifest(stack, process_env,
                                                                           tmp_path):
    process_env = initialized(process_env)
    second = generate_study(stack.info["dataservice_url"], stack.s3.client(), stack.bucket,
                            specimens=8, seed=97, workdir=tmp_path / "second")
    configs = [real_config(stack.info, tmp_path / "reports"),
               real_config({**stack.info, "study_id": second.study_id,
                            "manifest": str(second.manifest)}, tmp_path / "reports")]
    runs = [start(config, process_env, tmp_path, f"study-{i}") for i, config in enumerate(configs)]
    outcomes = [finish(run) for run in runs]

    assert [code for code, _ in outcomes] == [0, 0], [err[-2000:] for _, err in outcomes]
    first_files = assert_study_loaded(stack)
    second_files = assert_study_loaded(stack, second)
    assert not set(first_files.values()) & set(second_files.values())
    assert_no_duplicates(stack)

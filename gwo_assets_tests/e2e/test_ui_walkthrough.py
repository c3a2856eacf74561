"""The UI walk-through (README, docs/running.md#the-launchpad-step-by-step), followed literally: `make sandbox`, `make ui`, paste
`.sandbox/run.yaml` into the Launchpad, launch; it must end in a successful dry run.

Both make targets run as the README says, only on free ports and in a temporary folder (the
Makefile's SANDBOX_DIR, DATASERVICE_PORT, S3_PORT, UI_PORT and DAGSTER_HOME). "Paste and
launch" is what the Launchpad sends: the file's YAML as `runConfigData` of `launchRun`.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from gwo_assets_tests.e2e.conftest import REPO
from gwo_assets_tests.e2e.test_webserver_graphql import LAUNCH, RUN_STATUS, free_port, graphql
from gwo_assets_tests.support import list_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def make(target: str, variables: dict[str, str], env: dict[str, str],
         log: Path) -> subprocess.Popen:
    """`make <target>` in its own process group, so stopping it stops what it started."""
    return subprocess.Popen(
        ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(predicate, what: str, process: subprocess.Popen, log: Path, seconds: int = 240):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what}: the process exited ({process.returncode}):\n"
                        f"{log.read_text()[-3000:]}")
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {seconds} s:\n{log.read_text()[-3000:]}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def test_make_sandbox_then_make_ui_then_paste_run_yaml_is_a_successful_dry_run(tmp_path):
    variables = {"SANDBOX_DIR": str(tmp_path / "sandbox"), "DATASERVICE_PORT": str(free_port()),
                 "S3_PORT": str(free_port()), "UI_PORT": str(free_port()),
                 "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KF_", "DAGSTER_"))}
    run_yaml = tmp_path / "sandbox" / "run.yaml"
    ui = f"http://127.0.0.1:{variables['UI_PORT']}"
    sandbox_log, ui_log = tmp_path / "sandbox.log", tmp_path / "ui.log"
    sandbox = make("sandbox", variables, env, sandbox_log)
    webserver = None
    try:
        wait_for(lambda: "sandbox ready" in sandbox_log.read_text(), "make sandbox",
                 sandbox, sandbox_log)
        printed = sandbox_log.read_text()
        info = json.loads(next(line for line in printed.splitlines() if line.startswith("{")))
        assert info["run_config"] == str(run_yaml) and run_yaml.is_file()
        assert "Launchpad, paste the contents of" in printed
        assert f"dg launch --job ingest_gwo --partition {info['study_id']} --config" in printed

        webserver = make("ui", variables, env, ui_log)
        wait_for(lambda: answers(f"{ui}/server_info"), "make ui", webserver, ui_log)

        pasted = yaml.safe_load(run_yaml.read_text())
        launched = graphql(ui, LAUNCH, params={
            "selector": {"repositoryLocationName": "gwo_assets",
                         "repositoryName": "__repository__", "jobName": "ingest_gwo"},
            "runConfigData": pasted, "mode": "default"})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]

        def finished() -> str | None:
            status = graphql(ui, RUN_STATUS, runId=run_id)["runOrError"]["status"]
            return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

        status = wait_for(finished, "the launched run", webserver, ui_log, seconds=400)
        assert status == "SUCCESS", ui_log.read_text()[-3000:]

        report = json.loads((Path(pasted["resources"]["ingest"]["config"]["report_dir"])
                             / run_id / "report.json").read_text())
        assert (report["study_id"], report["dry_run"], report["status"]) == (
            info["study_id"], True, "success")
        assert report["steps"]["genomic_files"]["create"] == info["counts"]["harmonized_files"]
        # a dry run: the study holds only its source files, none of the manifest's outputs
        stored = list_all(info["dataservice_url"], "/genomic-files", study_id=info["study_id"])
        assert len(stored) == info["counts"]["source_genomic_files"]
    finally:
        if webserver is not None:
            stop(webserver)
        stop(sandbox)
    for log in (sandbox_log, ui_log):
        assert "SupersessionWarning" not in log.read_text(), log.read_text()[-3000:]

"""The UI path for real: dagster-webserver on loopback, ingest_gwo launched over GraphQL."""

import socket
import subprocess
import sys
import time

import pytest
import requests

from gwo_assets_tests.e2e.conftest import REPO
from gwo_assets_tests.support import run_config

pytestmark = pytest.mark.e2e

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
RUN_STATUS = """
query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"""
CHECK = """
query Check($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 1) {
    runId status evaluation { success severity }
  }
}"""
MATERIALIZATION = """
query Materialization($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) { ... on Asset { assetMaterializations(limit: 1) {
    runId metadataEntries { label ... on IntMetadataEntry { intValue } } } } }
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def webserver(process_env, tmp_path):
    port = free_port()
    log = open(tmp_path / "webserver.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-m", "gwo_assets", "-h", "127.0.0.1",
         "-p", str(port)], env=process_env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("dagster-webserver did not answer within 120 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def graphql(url: str, query: str, **variables) -> dict:
    response = requests.post(f"{url}/graphql", json={"query": query, "variables": variables},
                             timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_launch_over_graphql_and_read_back_checks_and_counts(stack, webserver, tmp_path):
    config = run_config(stack.info, dry_run=False, report_dir=tmp_path / "reports")
    stack.dataservice.reset_counts()
    run_id = launch_and_wait(webserver, config)

    for asset, check in (("gwo_manifest", "manifest_is_well_formed"),
                         ("sequencing_experiment_genomic_files", "load_matches_plan")):
        execution = graphql(webserver, CHECK, key={"path": [asset]}, name=check)
        latest = execution["assetCheckExecutions"][0]
        assert latest["runId"] == run_id and latest["evaluation"]["success"] is True

    n_files = len(stack.study.harmonized)
    entries = graphql(webserver, MATERIALIZATION, key={"path": ["genomic_files"]})
    materialization = entries["assetOrError"]["assetMaterializations"][0]
    assert materialization["runId"] == run_id
    ints = {e["label"]: e.get("intValue") for e in materialization["metadataEntries"]}
    assert ints["planned_create"] == n_files and ints["done"] == n_files and ints["failed"] == 0
    assert stack.dataservice.request_counts().get("POST /genomic-files") == n_files


PARTITIONS = """
query Partitions($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) { ... on AssetNode { partitionKeys } }
}"""
STUDY_MATERIALIZATIONS = """
query StudyMaterializations($key: AssetKeyInput!, $study: String!) {
  assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(partitions: [$study], limit: 5) { runId partition } } }
}"""
STUDY_RUNS = """
query StudyRuns($study: String!) {
  runsOrError(filter: {tags: [{key: "gwo/study", value: $study}]}) {
    ... on Runs { results { runId status tags { key value } } } }
}"""
CHECKS_OF_STUDY = """
query ChecksOfStudy($key: AssetKeyInput!, $name: String!, $partition: String) {
  assetCheckExecutions(assetKey: $key, checkName: $name, partition: $partition, limit: 10) {
    runId partition evaluation { success } }
}"""


def launch_and_wait(url: str, config: dict, expect: str = "SUCCESS") -> str:
    """Launch ingest_gwo as the Launchpad does (run config only) and wait for it to end
    with ``expect``; its run id."""
    launched = graphql(url, LAUNCH, params={
        "selector": {"repositoryLocationName": "gwo_assets", "repositoryName": "__repository__",
                     "jobName": "ingest_gwo"},
        "runConfigData": config, "mode": "default"})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = graphql(url, RUN_STATUS, runId=run_id)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            assert status == expect, (run_id, status)
            return run_id
        time.sleep(1)
    pytest.fail(f"run {run_id} did not finish")


def test_two_studies_one_after_another_each_tell_their_own_story(stack, webserver, tmp_path):
    """Launched as the Launchpad does (run config only, no partition picked): the coordinator
    gives each run its study's partition; the catalog then holds both partitions, each with
    its own materializations, check results and runs."""
    from gwo_assets.sandbox.generator import generate_study

    second = generate_study(stack.info["dataservice_url"], stack.s3.client(), stack.bucket,
                            specimens=4, seed=53, workdir=tmp_path / "second")
    studies = {stack.info["study_id"]: stack.info,
               second.study_id: {**stack.info, "study_id": second.study_id,
                                 "manifest": str(second.manifest)}}
    runs = {study: launch_and_wait(webserver, run_config(info, dry_run=True,
                                                         report_dir=tmp_path / "reports"))
            for study, info in studies.items()}

    for asset in ("gwo_manifest", "genomic_files_plan", "ingest_report"):
        keys = graphql(webserver, PARTITIONS, key={"path": [asset]})["assetNodeOrError"]
        assert set(keys["partitionKeys"]) == set(studies), asset
    for study, run_id in runs.items():
        events = graphql(webserver, STUDY_MATERIALIZATIONS, key={"path": ["genomic_files_plan"]},
                         study=study)["assetOrError"]["assetMaterializations"]
        assert [(e["runId"], e["partition"]) for e in events] == [(run_id, study)]
        found = graphql(webserver, STUDY_RUNS, study=study)["runsOrError"]["results"]
        assert [r["runId"] for r in found] == [run_id]
        assert {"key": "dagster/partition", "value": study} in found[0]["tags"]
    for study, run_id in runs.items():  # each study's check result is its own partition's
        executions = graphql(webserver, CHECKS_OF_STUDY, key={"path": ["gwo_manifest"]},
                             name="manifest_is_well_formed",
                             partition=study)["assetCheckExecutions"]
        print("one study's story:", {"partitions": keys, "runs": runs, "checks": executions})
        assert [(e["runId"], e["partition"]) for e in executions] == [(run_id, study)]
        assert executions[0]["evaluation"]["success"]

"""The run coordinators queue (deployment) or start (local) each ingest run with its study as a
tag and its partition registered - once the DataService confirmed the study exists; a refused
run is marked failed with the reason and registers nothing (issue 21 item 3)."""

import socket
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.remote_origin import (InProcessCodeLocationOrigin, RemoteJobOrigin,
                                         RemoteRepositoryOrigin)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from gwo_assets.definitions import defs
from gwo_assets.deployment.run_coordinator import StudyQueuedRunCoordinator, study_of
from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.sandbox.stack import SandboxStack

REPO = Path(__file__).resolve().parents[2]


def deploy_run_coordinator() -> dict:
    return yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())["run_coordinator"]


def job_origin() -> RemoteJobOrigin:
    """Where a launched run says its job comes from (the UI sets this; queued runs need it)."""
    location = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="gwo_assets"),
                                           location_name="gwo_assets")
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), "ingest_gwo")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Seed 7's study is SD_A4M2HB1G."""
    with SandboxStack(specimens=4, seed=7,
                      workdir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture
def instance(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path), overrides={
            "run_coordinator": deploy_run_coordinator()}) as local:
        yield local


def submit(instance: DagsterInstance, study_id: str, tags: dict | None = None):
    config = {"resources": {"ingest": {"config": {"study_id": study_id, "manifest": "m.tsv"}}}}
    run = instance.create_run_for_job(defs.resolve_job_def("ingest_gwo"), run_config=config,
                                      remote_job_origin=job_origin(), tags=tags or {},
                                      job_code_origin=ReconstructableRepository.for_module(
                                          "gwo_assets", "defs").get_reconstructable_job(
                                          "ingest_gwo").get_python_origin())
    return instance.submit_run(run.run_id, workspace=None)


def test_a_submitted_run_is_queued_with_the_study_of_its_run_config(stack, instance,
                                                                    monkeypatch):
    monkeypatch.setenv("KF_DATASERVICE_URL", stack.info["dataservice_url"])
    assert isinstance(instance.run_coordinator, StudyQueuedRunCoordinator)
    limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
    assert {"key": "gwo/study", "value": {"applyLimitPerUniqueValue": True},
            "limit": 1} in limits
    stack.dataservice.reset_counts()
    queued = submit(instance, " sd_a4m2hb1g ")
    assert queued.status == DagsterRunStatus.QUEUED
    assert instance.get_run_by_id(queued.run_id).tags["gwo/study"] == "SD_A4M2HB1G"
    assert instance.has_dynamic_partition(STUDY_PARTITIONS.name, "SD_A4M2HB1G")
    assert stack.dataservice.request_counts() == {"GET /studies": 1}


@pytest.mark.parametrize(("study", "tags", "reason"), [
    ("SD_ZZZZZZZZ", None, "Study SD_ZZZZZZZZ does not exist in the DataService at {url} "
                          "(GET /studies/SD_ZZZZZZZZ answered 404)"),
    ("SD_ABCD123", None, "'SD_ABCD123' is not a valid SD kf_id"),
    ("SD_A4M2HB1G", {"dagster/partition": "SD_ZZZZZZZZ"}, "Study SD_ZZZZZZZZ does not exist"),
], ids=["unknown", "malformed", "unknown-partition"])
def test_a_run_of_a_mistyped_or_unknown_study_fails_and_registers_nothing(
        stack, instance, monkeypatch, study, tags, reason):
    monkeypatch.setenv("KF_DATASERVICE_URL", stack.info["dataservice_url"])
    refused = submit(instance, study, tags)
    assert refused.status == DagsterRunStatus.FAILURE
    assert instance.get_dynamic_partitions(STUDY_PARTITIONS.name) == []
    assert "gwo/study" not in refused.tags
    (failure,) = instance.all_logs(refused.run_id, of_type=DagsterEventType.RUN_FAILURE)
    assert "Run not started, nothing registered: " in failure.message
    assert reason.format(url=stack.info["dataservice_url"]) in failure.message


def test_an_unreachable_dataservice_refuses_the_run_at_once(instance, monkeypatch):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    monkeypatch.setenv("KF_DATASERVICE_URL", url)
    started = time.monotonic()
    refused = submit(instance, "SD_A4M2HB1G")
    assert time.monotonic() - started < 10
    assert refused.status == DagsterRunStatus.FAILURE
    assert instance.get_dynamic_partitions(STUDY_PARTITIONS.name) == []
    (failure,) = instance.all_logs(refused.run_id, of_type=DagsterEventType.RUN_FAILURE)
    assert f"could not check that study SD_A4M2HB1G exists: DataService at {url} is " \
           "unavailable" in failure.message and "relaunch once the DataService answers" in \
           failure.message


def test_runs_without_a_study_are_left_untagged():
    assert study_of({}) is None
    assert study_of({"ops": {"undo_ingest": {"config": {"report": "r.json"}}}}) is None
    assert study_of({"resources": {"ingest": {"config": {"study_id": ""}}}}) is None

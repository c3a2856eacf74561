"""The deployment's run coordinator queues each ingest run with its study as a tag."""

from pathlib import Path

import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.remote_origin import (InProcessCodeLocationOrigin, RemoteJobOrigin,
                                         RemoteRepositoryOrigin)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from gwo_assets.definitions import defs
from gwo_assets.deployment.run_coordinator import StudyQueuedRunCoordinator, study_of

REPO = Path(__file__).resolve().parents[2]


def deploy_run_coordinator() -> dict:
    return yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())["run_coordinator"]


def job_origin() -> RemoteJobOrigin:
    """Where a launched run says its job comes from (the UI sets this; queued runs need it)."""
    location = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="gwo_assets"),
                                           location_name="gwo_assets")
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), "ingest_gwo")


def test_a_submitted_run_is_queued_with_the_study_of_its_run_config(tmp_path, monkeypatch):
    monkeypatch.setenv("KF_DATASERVICE_URL", "http://127.0.0.1:9")  # never contacted
    config = {"resources": {"ingest": {"config": {"study_id": " sd_a4m2hb1g ",
                                                  "manifest": "m.tsv"}}}}
    with DagsterInstance.local_temp(str(tmp_path), overrides={
            "run_coordinator": deploy_run_coordinator()}) as instance:
        assert isinstance(instance.run_coordinator, StudyQueuedRunCoordinator)
        limits = instance.run_coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": "gwo/study", "value": {"applyLimitPerUniqueValue": True},
                "limit": 1} in limits
        run = instance.create_run_for_job(defs.resolve_job_def("ingest_gwo"), run_config=config,
                                          remote_job_origin=job_origin(),
                                          job_code_origin=ReconstructableRepository.for_module(
                                              "gwo_assets", "defs").get_reconstructable_job(
                                              "ingest_gwo").get_python_origin())
        queued = instance.submit_run(run.run_id, workspace=None)
        assert queued.status == DagsterRunStatus.QUEUED
        assert instance.get_run_by_id(run.run_id).tags["gwo/study"] == "SD_A4M2HB1G"


def test_runs_without_a_study_are_left_untagged():
    assert study_of({}) is None
    assert study_of({"ops": {"undo_ingest": {"config": {"report": "r.json"}}}}) is None
    assert study_of({"resources": {"ingest": {"config": {"study_id": ""}}}}) is None

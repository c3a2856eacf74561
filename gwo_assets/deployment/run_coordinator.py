"""Run coordinators that give each ingest run its study's partition and tag, from its config.

A run launched from the Launchpad or GraphQL with ``resources.ingest.config.study_id`` and no
partition picked would fail (every ingest asset is partitioned by study); one with a new
study's partition would fail on a key nobody registered. Before a run starts, these
coordinators register the study's partition key, set ``dagster/partition`` from the config
when it is missing, and tag the run ``gwo/study`` - so ``tag_concurrency_limits`` on
``gwo/study`` (``deploy/dagster.yaml``) keep a second load of a study queued until the first
ended; it then plans against the finished state. The study lock (resources/study_lock.py)
still guards runs that bypass the queue (``dagster job execute``, ``gwo ingest``).

``StudyRunCoordinator``: the local instance (``dagster.yaml``: runs start at once).
``StudyQueuedRunCoordinator``: a deployment (the daemon dequeues runs).
"""

from collections.abc import Mapping
from typing import Any

from dagster import DagsterInstance, DagsterRun
from dagster._core.run_coordinator import (DefaultRunCoordinator, QueuedRunCoordinator,
                                           SubmitRunContext)

from gwo_assets.partitions import PARTITION_TAG, register_study
from gwo_assets.resources.study_lock import STUDY_TAG


def study_of(run_config: Mapping[str, Any]) -> str | None:
    """The study a run config names (ingest_gwo), or None (undo_gwo, other jobs)."""
    ingest = ((run_config.get("resources") or {}).get("ingest") or {}).get("config") or {}
    study = ingest.get("study_id")
    return study.strip().upper() if isinstance(study, str) and study.strip() else None


def with_study(instance: DagsterInstance, context: SubmitRunContext) -> SubmitRunContext:
    """The run with its study's partition registered and tagged (unchanged for other jobs)."""
    run = context.dagster_run
    study = run.tags.get(PARTITION_TAG) or study_of(run.run_config or {})
    if not study or run.job_name != "ingest_gwo":
        return context
    register_study(instance, study)
    missing = {key: study for key in (PARTITION_TAG, STUDY_TAG) if not run.tags.get(key)}
    if not missing:
        return context
    instance.add_run_tags(run.run_id, missing)
    return SubmitRunContext(instance.get_run_by_id(run.run_id) or run, context.workspace)


class StudyRunCoordinator(DefaultRunCoordinator):
    """DefaultRunCoordinator (runs start at once) + the study's partition and tag."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        return super().submit_run(with_study(self._instance, context))


class StudyQueuedRunCoordinator(QueuedRunCoordinator):
    """QueuedRunCoordinator + the study's partition and tag (queued per study)."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        return super().submit_run(with_study(self._instance, context))

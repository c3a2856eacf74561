"""Run coordinators that give each ingest run its study's partition and tag, from its config.

A run launched from the Launchpad or GraphQL with ``resources.ingest.config.study_id`` and no
partition picked would fail (every ingest asset is partitioned by study); one with a new
study's partition would fail on a key nobody registered. Before a run starts, these
coordinators check the study (its id's form, then one ``GET /studies/<kf_id>`` with short
timeouts: ``partitions.check_study``), register its partition key, set ``dagster/partition``
from the config when it is missing, and tag the run ``gwo/study`` - so ``tag_concurrency_limits`` on
``gwo/study`` (``deploy/dagster.yaml``) keep a second load of a study queued until the first
ended; it then plans against the finished state. The study lock (resources/study_lock.py)
still guards runs that bypass the queue (``dagster job execute``, ``gwo ingest``).

A run whose study is malformed, unknown to the DataService, or cannot be checked (the
DataService is unreachable from the web server/daemon, or refuses its token) is not started:
it is marked failed with one sentence saying why, and nothing is registered or tagged, so a
mistyped id never becomes a partition.

``StudyRunCoordinator``: the local instance (``dagster.yaml``: runs start at once).
``StudyQueuedRunCoordinator``: a deployment (the daemon dequeues runs).
"""

import os
from collections.abc import Mapping
from typing import Any

from dagster import DagsterInstance, DagsterRun
from dagster._core.run_coordinator import (DefaultRunCoordinator, QueuedRunCoordinator,
                                           SubmitRunContext)

from gwo_assets.partitions import (PARTITION_TAG, StudyRefused, StudyUncheckable, check_study,
                                   dataservice_of, register_study)
from gwo_assets.resources.study_lock import STUDY_TAG


def study_of(run_config: Mapping[str, Any]) -> str | None:
    """The study a run config names (ingest_gwo), or None (undo_gwo, other jobs)."""
    ingest = ((run_config.get("resources") or {}).get("ingest") or {}).get("config") or {}
    study = ingest.get("study_id")
    return study.strip().upper() if isinstance(study, str) and study.strip() else None


class RunRefused(Exception):
    """The run's study was refused or could not be checked; ``str()`` is the sentence."""


def with_study(instance: DagsterInstance, context: SubmitRunContext) -> SubmitRunContext:
    """The run with its study checked, its partition registered and tagged (unchanged for
    other jobs); RunRefused, with nothing registered, when the study cannot be used."""
    run = context.dagster_run
    study = run.tags.get(PARTITION_TAG) or study_of(run.run_config or {})
    if not study or run.job_name != "ingest_gwo":
        return context
    url, token = dataservice_of(run.run_config or {}, os.environ)
    try:
        study = check_study(study, url, token)
    except StudyRefused as error:
        raise RunRefused(f"Run not started, nothing registered: {error}") from None
    except StudyUncheckable as error:
        raise RunRefused(f"Run not started, nothing registered: {error}; relaunch once the "
                         "DataService answers") from None
    register_study(instance, study)
    missing = {key: study for key in (PARTITION_TAG, STUDY_TAG) if not run.tags.get(key)}
    if not missing:
        return context
    instance.add_run_tags(run.run_id, missing)
    return SubmitRunContext(instance.get_run_by_id(run.run_id) or run, context.workspace)


def _refused(instance: DagsterInstance, run: DagsterRun, error: RunRefused) -> DagsterRun:
    """The run marked failed with the reason (the UI shows it on the run's page)."""
    instance.report_run_failed(run, message=str(error))
    return instance.get_run_by_id(run.run_id) or run


class StudyRunCoordinator(DefaultRunCoordinator):
    """DefaultRunCoordinator (runs start at once) + the study's partition and tag."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        try:
            checked = with_study(self._instance, context)
        except RunRefused as error:
            return _refused(self._instance, context.dagster_run, error)
        return super().submit_run(checked)


class StudyQueuedRunCoordinator(QueuedRunCoordinator):
    """QueuedRunCoordinator + the study's partition and tag (queued per study)."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        try:
            checked = with_study(self._instance, context)
        except RunRefused as error:
            return _refused(self._instance, context.dagster_run, error)
        return super().submit_run(checked)

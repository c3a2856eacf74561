"""A QueuedRunCoordinator that queues ingest runs per study without anyone tagging them.

``tag_concurrency_limits`` needs the study as a run tag when the run is queued,
but users give the study in run config (Launchpad, CLI, sensor). This coordinator
copies ``resources.ingest.config.study_id`` into the ``gwo/study`` tag before it
enqueues the run, so ``{key: gwo/study, value: {applyLimitPerUniqueValue: true},
limit: 1}`` holds a second load of a study in the queue until the first ends; it
then plans against the finished state. The study lock (resources/study_lock.py)
still guards runs that bypass the queue (``dagster job execute``).
"""

from collections.abc import Mapping
from typing import Any

from dagster import DagsterRun
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext

from gwo_assets.resources.study_lock import STUDY_TAG


def study_of(run_config: Mapping[str, Any]) -> str | None:
    """The study a run config names (ingest_gwo), or None (undo_gwo, other jobs)."""
    ingest = ((run_config.get("resources") or {}).get("ingest") or {}).get("config") or {}
    study = ingest.get("study_id")
    return study.strip().upper() if isinstance(study, str) and study.strip() else None


class StudyQueuedRunCoordinator(QueuedRunCoordinator):
    """QueuedRunCoordinator + the ``gwo/study`` tag derived from the run config."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        study = study_of(run.run_config or {})
        if study and run.tags.get(STUDY_TAG) != study:
            self._instance.add_run_tags(run.run_id, {STUDY_TAG: study})
            run = self._instance.get_run_by_id(run.run_id) or run
            context = SubmitRunContext(run, context.workspace)
        return super().submit_run(context)

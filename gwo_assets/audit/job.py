"""``audit_gwo`` (the drift audit of one study partition) and the schedule that audits every
registered study.

The schedule ``gwo_drift_audit`` runs on ``$GWO_AUDIT_CRON`` (default ``0 6 * * 1``: Mondays
06:00, in ``$GWO_AUDIT_TIMEZONE``, default UTC; both read when the code location loads) and
requests one ``audit_gwo`` run per registered ``gwo_study`` partition, run key
``<study>@<tick time>`` so a tick never launches a study twice. It is on by default (an
audit is read-only); set ``GWO_AUDIT_CRON=off`` to leave it stopped (it can still be turned
on under *Automation*). Reports go under ``$GWO_AUDIT_REPORT_DIR`` when set (default
``reports``). Runs are tagged ``gwo/audit``, never ``gwo/study``: an audit does not queue
behind, nor hold up, the study's loads.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from dagster import (AssetSelection, DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext,
                     SkipReason, define_asset_job, in_process_executor, schedule)

from gwo_assets.audit.assets import AUDIT_GROUP
from gwo_assets.partitions import STUDY_PARTITIONS

CRON_ENV = "GWO_AUDIT_CRON"
TIMEZONE_ENV = "GWO_AUDIT_TIMEZONE"
REPORT_DIR_ENV = "GWO_AUDIT_REPORT_DIR"
DEFAULT_CRON = "0 6 * * 1"
AUDIT_TAG = "gwo/audit"
OFF = {"off", "none", "false", "0", ""}

AUDIT_SELECTION = AssetSelection.groups(AUDIT_GROUP)

audit_gwo = define_asset_job(
    "audit_gwo",
    selection=AUDIT_SELECTION,
    description="Drift audit of one study (its partition): the study's harmonized genomic files "
                "in the DataService against their S3 objects. Read-only.",
    executor_def=in_process_executor,
    tags={AUDIT_TAG: "true"},
)


def audit_run_config(report_dir: str | None = None) -> dict:
    report_dir = report_dir or os.environ.get(REPORT_DIR_ENV)
    return {"ops": {"drift_audit": {"config": {"report_dir": report_dir}}}} if report_dir else {}


def _cron() -> tuple[str, DefaultScheduleStatus]:
    configured = os.environ.get(CRON_ENV)
    if configured is not None and configured.strip().lower() in OFF:
        return DEFAULT_CRON, DefaultScheduleStatus.STOPPED
    return (configured or DEFAULT_CRON).strip(), DefaultScheduleStatus.RUNNING


_CRON, _STATUS = _cron()


@schedule(name="gwo_drift_audit", job=audit_gwo, cron_schedule=_CRON, default_status=_STATUS,
          execution_timezone=os.environ.get(TIMEZONE_ENV) or "UTC",
          description="Audit every registered study (one audit_gwo run per gwo_study "
                      f"partition) on ${CRON_ENV} (default weekly: {DEFAULT_CRON}).")
def gwo_drift_audit(context: ScheduleEvaluationContext):
    studies = sorted(context.instance.get_dynamic_partitions(STUDY_PARTITIONS.name))
    if not studies:
        return SkipReason("No study is registered yet (a study's first ingest registers it)")
    try:
        tick = context.scheduled_execution_time
    except Exception:  # a preview (dagster schedule preview, tests) has no tick time
        tick = datetime.now(timezone.utc)
    stamp = tick.isoformat()
    config = audit_run_config()
    return [RunRequest(run_key=f"{study}@{stamp}", partition_key=study, run_config=config,
                       tags={AUDIT_TAG: "true"})
            for study in studies]

"""The ``drift_audit`` asset and its checks: per study partition, does the DataService still
describe the study's objects in S3?

One step reads the study's harmonized genomic files and HEADs their objects side by side
(``audit/scan.py``), classifies each file (``core/drift.py``) and writes the report
(``audit/report.py``). One check per drift class, on the study's partition (the checks are
partitioned like the asset, so the UI shows each study's own results and history); a check
fails (ERROR) with the count, a preview and the CSV of every file of its class. The
materialization's ``last_agreed`` says when the DataService and S3 last agreed on the study.

Read-only: no write to the DataService, and no study lock (an ingest of the study is never
blocked by an audit; an audit that overlaps an ingest may report what that ingest is about
to fix: audit again after it).
"""

import warnings
from datetime import datetime, timezone

import pandas as pd
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext,
                     AssetKey, Config, DagsterRunStatus, Failure, MetadataValue, Output,
                     RunsFilter, asset)
from dagster._core.storage.event_log.base import AssetRecordsFilter
from pydantic import Field

from gwo_assets.assets.step_helpers.metadata import counts_md, markdown_table
from gwo_assets.assets.step_helpers.progress import Progress
from gwo_assets.audit.report import PREVIEW_COLUMNS, fix_text, summary_line, write_audit_files
from gwo_assets.audit.scan import STUDY_FILES_QUERY, StudyNotFound, scan_study
from gwo_assets.core.drift import (AVAILABILITY_WRONG, CHANGED, DRIFT_CLASSES, HIDDEN, LABELS,
                                   OBJECT_GONE, UNREADABLE, bucket_warnings, classify, counts,
                                   with_problem)
from gwo_assets.core.kf_ids import validate_kf_id
from gwo_assets.errors import DataServiceError, S3AccessError
from gwo_assets.partitions import PARTITION_TAG, STUDY_PARTITIONS
from gwo_assets.resources.dataservice import DataServiceResource
from gwo_assets.resources.s3 import S3Resource

AUDIT_ASSET = "drift_audit"
AUDIT_GROUP = "drift_audit"
# check name -> (drift class, description)
AUDIT_CHECKS = {
    "objects_exist": (OBJECT_GONE, "Every visible harmonized file's S3 object exists (no 404)."),
    "objects_readable": (UNREADABLE, "S3 answers a HEAD for every visible harmonized file "
                                     "(no 403 or other error)."),
    "objects_unchanged": (CHANGED, "Every object is the one its record describes (size, "
                                   "ETag, md5 when known, S3 checksums)."),
    "availability_matches_s3": (AVAILABILITY_WRONG, "Every record's availability matches "
                                                    "its object's storage class (Cold Storage "
                                                    "for Glacier, Deep Archive, "
                                                    "Intelligent-Tiering archive tiers)."),
}
CHECK_BY_CLASS = {drift_class: name for name, (drift_class, _) in AUDIT_CHECKS.items()}
INLINE_ROWS = 20


class AuditConfig(Config):
    report_dir: str = Field(default="reports", description="Where the audit's report and CSVs go "
                                                           "(<report_dir>/<run_id>/).")


def _check_specs() -> list[AssetCheckSpec]:
    """One partitioned check per drift class: its results carry the study's partition, so the
    UI shows each study's own check status and history (``partitions_def`` on a check is a
    preview feature of Dagster 1.13; its warning is silenced here, once, on purpose)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec")
        return [AssetCheckSpec(name, asset=AUDIT_ASSET, description=description,
                               partitions_def=STUDY_PARTITIONS)
                for name, (_, description) in AUDIT_CHECKS.items()]


@asset(
    name=AUDIT_ASSET, partitions_def=STUDY_PARTITIONS, group_name=AUDIT_GROUP, compute_kind="s3",
    check_specs=_check_specs(),
    description="Drift audit of one study: its harmonized genomic files in the DataService "
                "against their objects in S3 (read-only). One row per file: ok, hidden, "
                "object_gone, unreadable, changed, availability_wrong.",
)
def drift_audit(context: AssetExecutionContext, config: AuditConfig,
                dataservice: DataServiceResource, s3: S3Resource):
    study_id = _study(context.partition_key)
    progress = Progress(context.log, f"Drift audit of {study_id}: HEAD", None, unit="objects")

    def on_head(done: int, submitted: int) -> None:
        progress.set_total(submitted)
        progress.advance(done - progress.done)

    started = datetime.now(timezone.utc)
    with dataservice.get_client() as client:
        try:
            scan = scan_study(client, s3.get_client(), study_id, s3.max_concurrency, on_head)
        except StudyNotFound:
            _fail(context, f"Study {study_id} does not exist in the DataService at "
                           f"{dataservice.public_url}: check the partition (and dataservice.url)")
        except (DataServiceError, S3AccessError) as error:
            _fail(context, str(error))
    progress.finish()
    drift = classify(scan.records, scan.s3_rows)
    found = counts(drift)
    drifted = int((drift["status"].isin(DRIFT_CLASSES)).sum()) if not drift.empty else 0
    last_agreed = (started.timestamp() if drifted == 0
                   else _previous_last_agreed(context, study_id))
    report = write_audit_files(config.report_dir, context.run_id, {
        "run_id": context.run_id, "study_id": study_id, "audited_at": started.isoformat(),
        "dataservice_url": dataservice.public_url, "s3_endpoint_url": s3.endpoint_url,
        "query": "/genomic-files?" + "&".join(f"{k}={v}" for k, v in
                                              {"study_id": study_id, **STUDY_FILES_QUERY}.items()),
        "files": int(len(drift)), "counts": found, "drifted": drifted,
        "agreed": drifted == 0,
        "last_agreed": (datetime.fromtimestamp(last_agreed, timezone.utc).isoformat()
                        if last_agreed else None),
        "dataservice_requests": scan.dataservice_requests, "s3_requests": scan.s3_requests,
        "pages": scan.pages, "seconds": round(scan.seconds, 3),
        "warnings": bucket_warnings(drift),
    }, drift, _loaded_manifest(context, study_id))
    for warning in report["warnings"]:
        context.log.warning(f"Drift audit of {study_id}: {warning}")
    summary = summary_line(report)
    (context.log.info if drifted == 0 else context.log.warning)(summary)

    shown = pd.concat([drift[drift["status"].isin(DRIFT_CLASSES)],
                       drift[~drift["status"].isin(DRIFT_CLASSES)]])
    metadata = {
        "dagster/row_count": MetadataValue.int(len(drift)),
        "preview": MetadataValue.md(markdown_table(shown[["status", *PREVIEW_COLUMNS]], 10)),
        "agreed": MetadataValue.bool(drifted == 0),
        "drifted": MetadataValue.int(drifted),
        **{name: MetadataValue.int(value) for name, value in found.items()},
        "last_agreed": (MetadataValue.timestamp(last_agreed) if last_agreed
                        else MetadataValue.text("not since auditing began")),
        "summary": counts_md(summary, {LABELS[name]: value for name, value in found.items()}),
        "report": MetadataValue.path(report["report_md"]),
        "files_csv": MetadataValue.path(report["files_csv"]),
        "dataservice_requests": MetadataValue.json(scan.dataservice_requests),
        "s3_requests": MetadataValue.json(scan.s3_requests),
        "duration_seconds": MetadataValue.float(round(scan.seconds, 3)),
    }
    yield Output(drift, metadata=metadata)
    audited = len(drift) - found[HIDDEN]
    for check_name, (drift_class, _) in AUDIT_CHECKS.items():
        yield _check_result(context, check_name, drift_class, with_problem(drift, drift_class),
                            audited, report)


def _check_result(context: AssetExecutionContext, check_name: str, drift_class: str,
                  offending: pd.DataFrame, audited: int, report: dict) -> AssetCheckResult:
    entry = report["classes"][drift_class]
    metadata = {"files": MetadataValue.int(len(offending)),
                "audited_files": MetadataValue.int(audited)}
    if offending.empty:
        return AssetCheckResult(check_name=check_name, passed=True, metadata=metadata,
                                description=f"{LABELS[drift_class]}: none of {audited} files")
    metadata.update({
        "offending_files": MetadataValue.md(markdown_table(offending[PREVIEW_COLUMNS],
                                                           INLINE_ROWS)),
        "all_files_csv": MetadataValue.path(entry["csv"]),
        "fix": MetadataValue.md(fix_text(drift_class, report["study_id"], report["manifest"],
                                         entry["csv"])),
    })
    description = f"{LABELS[drift_class]}: {len(offending)} of {audited} files"
    context.log.error(f"{check_name} failed for {report['study_id']}: {description}; e.g. "
                      + "; ".join(f"{row.kf_id} {row.url}: {row.detail}"
                                  for row in offending.head(3).itertuples()))
    return AssetCheckResult(check_name=check_name, passed=False,
                            severity=AssetCheckSeverity.ERROR, metadata=metadata,
                            description=description)


def _study(partition_key: str) -> str:
    try:
        return validate_kf_id(partition_key, "SD")
    except ValueError as error:
        raise Failure(description=f"The audit's partition {partition_key!r} is not a study "
                                  f"kf_id: {error}", allow_retries=False) from None


def _fail(context: AssetExecutionContext, message: str):
    context.log.error(message)
    raise Failure(description=message, allow_retries=False) from None


def _previous_last_agreed(context: AssetExecutionContext, study_id: str) -> float | None:
    """``last_agreed`` of the study's previous audit (a timestamp), or None."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(AUDIT_ASSET), asset_partitions=[study_id]),
        limit=1).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get("last_agreed")
    raw = getattr(value, "value", None)
    return float(raw) if isinstance(raw, (int, float)) else None


def _loaded_manifest(context: AssetExecutionContext, study_id: str) -> str | None:
    """The manifest of the study's last successful real ingest on this instance, for the
    report's fix commands; None when the instance has none."""
    runs = context.instance.get_runs(
        RunsFilter(job_name="ingest_gwo", tags={PARTITION_TAG: study_id},
                   statuses=[DagsterRunStatus.SUCCESS]), limit=50)
    for run in runs:
        ingest = ((run.run_config or {}).get("resources", {}).get("ingest") or {}).get("config") or {}
        if ingest.get("dry_run") is False and ingest.get("manifest"):
            return str(ingest["manifest"])
    return None


__all__ = ["AUDIT_ASSET", "AUDIT_CHECKS", "AUDIT_GROUP", "AuditConfig", "CHECK_BY_CLASS",
           "drift_audit"]

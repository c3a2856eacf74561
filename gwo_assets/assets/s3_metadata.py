"""Step 1a: scrape each harmonized file's size, hashes and storage class from S3."""

import time

import pandas as pd
from dagster import (AssetCheckExecutionContext, AssetExecutionContext, AssetIn, Failure,
                     MetadataValue, asset)

from gwo_assets.partitions import STUDY_PARTITIONS, study_check
from gwo_assets.assets.step_helpers.check_results import ISSUE_COLUMNS, issues_check_result
from gwo_assets.assets.manifest import GwoManifest
from gwo_assets.assets.step_helpers.metadata import counts_md, frame_metadata
from gwo_assets.assets.step_helpers.progress import Progress
from gwo_assets.errors import S3AccessError
from gwo_assets.resources.run_settings import IngestSettings
from gwo_assets.resources.s3 import S3Resource, scrape_objects

@asset(partitions_def=STUDY_PARTITIONS, group_name="s3", compute_kind="s3")
def harmonized_file_s3_metadata(context: AssetExecutionContext, s3: S3Resource,
                                gwo_manifest: GwoManifest) -> pd.DataFrame:
    """One row per harmonized file: exists, size, ETag, md5, checksums, storage class.

    The manifest step started these HEADs in the background (``resources/s3_prefetch.py``):
    this step waits for what is left; run alone (a re-execution) it scrapes itself."""
    filepaths = gwo_manifest.objects_to_scrape
    background = s3.prefetched_metadata(filepaths)
    progress = Progress(context.log, "S3 metadata", len(filepaths), unit="objects")
    if background is not None:
        context.log.info(f"S3 metadata: HEADs started with the manifest "
                         f"{time.monotonic() - background.started:.1f}s ago, "
                         f"{background.done}/{len(filepaths)} done")
    waited = time.monotonic()
    try:
        if background is not None:
            frame, stats = background.wait(lambda done: progress.advance(done - progress.done))
        else:
            frame, stats = scrape_objects(
                s3.get_client(), filepaths, max_workers=s3.max_concurrency,
                on_progress=lambda done, _total: progress.advance(done - progress.done))
    except S3AccessError as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None
    waited = time.monotonic() - waited
    seconds = progress.finish()
    counts = {name: stats[key] for name, key in (
        ("objects", "objects"), ("found", "found"), ("missing", "missing"),
        ("cold_storage", "cold"), ("total_bytes", "total_bytes"))}
    context.add_output_metadata({
        **frame_metadata(frame, ["filepath", "exists", "size", "etag", "md5", "storage_class"]),
        **{name: MetadataValue.int(value) for name, value in counts.items()},
        "s3_requests": MetadataValue.json(stats.get("requests", {})),
        "duration_seconds": MetadataValue.float(round(seconds, 3)),
        "started_with_the_manifest": MetadataValue.bool(background is not None),
        "scrape_seconds": MetadataValue.float(round(
            background.finished - background.started if background else waited, 3)),
        "waited_seconds": MetadataValue.float(round(waited, 3)),
        "summary": counts_md("S3 objects", counts),
    })
    return frame


def missing_object_issues(s3_metadata: pd.DataFrame, manifest_rows: pd.DataFrame) -> pd.DataFrame:
    """One issue per manifest row whose Filepath has no S3 object."""
    missing = s3_metadata.loc[~s3_metadata["exists"], ["filepath", "error"]]
    rows = manifest_rows[["row", "filepath"]].drop_duplicates("filepath").merge(missing, on="filepath")
    return pd.DataFrame({
        "check": "s3_object_missing",
        "row": rows["row"],
        "column": "Filepath",
        "value": rows["filepath"],
        "expected": "an existing S3 object",
        "suggestion": "upload the file or fix the path; " + rows["error"].fillna("").astype(str),
        "severity": "error",
    }, columns=ISSUE_COLUMNS)


@study_check(asset=harmonized_file_s3_metadata, blocking=True,
             additional_ins={"gwo_manifest": AssetIn("gwo_manifest")},
             description="Every Filepath of the manifest exists in S3.")
def harmonized_files_exist_in_s3(context: AssetCheckExecutionContext, ingest: IngestSettings,
                                 harmonized_file_s3_metadata: pd.DataFrame,
                                 gwo_manifest: GwoManifest):
    issues = missing_object_issues(harmonized_file_s3_metadata, gwo_manifest.rows)
    return issues_check_result(context, issues, report_dir=ingest.report_dir,
                               skip_invalid_rows=ingest.skip_invalid_rows, what="S3 objects",
                               dry_run=ingest.dry_run)

"""Step 3 i-iv: the study's DataService tables, each read once at max page size, side by side.

Genomic files are read once without ``is_harmonized``/``visible`` filters: the
unharmonized visible ones are the join's sources (seed step 3 i) and the
harmonized ones tell the plan what already exists, so one read serves both.
"""

import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
from dagster import (AssetExecutionContext, AssetOut, Failure, MetadataValue, Output, asset,
                     multi_asset)

from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.assets.step_helpers.metadata import frame_metadata
from gwo_assets.assets.step_helpers.progress import Progress
from gwo_assets.errors import ConcurrentLoadError, DataServiceError
from gwo_assets.resources import study_lock
from gwo_assets.resources.dataservice import DataServiceClient, DataServiceResource
from gwo_assets.resources.run_settings import IngestSettings

# Columns every table has even when the study has no rows, so joins never KeyError.
TABLE_COLUMNS = {
    "/genomic-files": ["kf_id", "external_id", "is_harmonized", "visible", "controlled_access",
                       "authz", "acl", "urls", "hashes", "size", "file_name", "file_format",
                       "data_type", "workflow_type", "availability", "cavatica_file_id",
                       "created_at", "modified_at"],
    "/sequencing-experiments": ["kf_id", "external_id", "experiment_strategy", "visible",
                                "created_at", "modified_at"],
    "/sequencing-experiment-genomic-files": ["kf_id", "sequencing_experiment_id",
                                             "genomic_file_id", "visible", "created_at",
                                             "modified_at"],
    "/biospecimen-genomic-files": ["kf_id", "biospecimen_id", "genomic_file_id", "visible",
                                   "created_at", "modified_at"],
    "/biospecimens": ["kf_id", "participant_id", "visible", "created_at", "modified_at"],
}


def records_frame(records: list[dict[str, Any]], endpoint: str) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    for column in TABLE_COLUMNS.get(endpoint, []):
        if column not in frame.columns:
            frame[column] = pd.Series(dtype=object)
    return frame


def read_study_table(context: AssetExecutionContext, client: DataServiceClient,
                     endpoint: str, params: dict[str, str]) -> tuple[pd.DataFrame, dict]:
    """One paginated bulk read, with progress lines; the frame and its metadata."""
    progress = Progress(context.log, f"GET {endpoint}", None, unit="rows")
    pages = 0

    def on_page(rows_so_far: int, total: int | None) -> None:
        nonlocal pages
        pages += 1
        progress.set_total(total)
        progress.advance(rows_so_far - progress.done)

    records = client.list_all(endpoint, params, on_page=on_page)
    seconds = progress.finish()
    frame = records_frame(records, endpoint)
    return frame, {
        **frame_metadata(frame, TABLE_COLUMNS.get(endpoint)),
        "rows_read": MetadataValue.int(len(frame)),
        "pages_fetched": MetadataValue.int(pages),
        "query": MetadataValue.text(f"{endpoint}?" + "&".join(f"{k}={v}" for k, v in params.items())),
        "dataservice_requests": MetadataValue.json({f"GET {endpoint}": pages}),
        "duration_seconds": MetadataValue.float(round(seconds, 3)),
    }


@asset(partitions_def=STUDY_PARTITIONS, group_name="study_tables", compute_kind="dataservice")
def kf_study(context: AssetExecutionContext, ingest: IngestSettings,
             dataservice: DataServiceResource) -> dict:
    """The study record: the run stops here when the study does not exist.

    A real run also takes the study's load lock here, before anything is read for
    planning, so two runs can never plan against the same state and both write.
    """
    started = time.monotonic()
    try:
        if not ingest.dry_run:
            where = study_lock.acquire(context.instance, ingest.study_id, context.run_id)
            context.log.info(f"Holding the load lock for {ingest.study_id} ({where})")
        study = dataservice.get_client().get("/studies", ingest.study_id)
    except (DataServiceError, ConcurrentLoadError) as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None
    if study is None:
        message = (f"Study {ingest.study_id} does not exist in the DataService at "
                   f"{dataservice.public_url}: check ingest.study_id (and dataservice.url)")
        context.log.error(message)
        raise Failure(description=message, allow_retries=False)
    context.add_output_metadata({
        "study_id": MetadataValue.text(study["kf_id"]),
        "name": MetadataValue.text(str(study.get("name") or "")),
        "external_id": MetadataValue.text(str(study.get("external_id") or "")),
        "duration_seconds": MetadataValue.float(round(time.monotonic() - started, 3)),
    })
    return study


# Seed step 3 i-iv (and the biospecimens, for the manifest checks): asset -> endpoint, what.
STUDY_TABLES: dict[str, tuple[str, str]] = {
    "study_genomic_files": (
        "/genomic-files",
        "Every genomic file of the study (seed 3 i): unharmonized sources and harmonized files "
        "already loaded. Files without a biospecimen link are invisible to this read."),
    "study_sequencing_experiments": (
        "/sequencing-experiments", "The study's sequencing experiments (seed 3 ii)."),
    "study_sequencing_experiment_genomic_files": (
        "/sequencing-experiment-genomic-files",
        "The study's sequencing experiment - genomic file links (seed 3 iii)."),
    "study_biospecimen_genomic_files": (
        "/biospecimen-genomic-files", "The study's biospecimen - genomic file links (seed 3 iv)."),
    "study_biospecimens": (
        "/biospecimens",
        "The study's biospecimens, to check that the manifest's belong to the study and "
        "participant."),
}


@multi_asset(partitions_def=STUDY_PARTITIONS, 
    name="study_tables", deps=[kf_study], can_subset=True, compute_kind="dataservice",
    outs={name: AssetOut(group_name="study_tables", description=description, is_required=False)
          for name, (_, description) in STUDY_TABLES.items()})
def study_tables(context: AssetExecutionContext, ingest: IngestSettings,
                 dataservice: DataServiceResource) -> Iterator[Output]:
    """Each selected table read once (``?study_id=``, max page size), the tables concurrently:
    each read is a chain of pages, so reading them side by side overlaps their waits."""
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    names = [name for name in STUDY_TABLES if name in selected]
    client = dataservice.get_client()
    params = {"study_id": ingest.study_id}
    try:
        reads = client.map_concurrently(
            lambda name: read_study_table(context, client, STUDY_TABLES[name][0], params), names)
    except DataServiceError as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None
    for name, (frame, metadata) in zip(names, reads):
        yield Output(frame, output_name=name, metadata=metadata)


STUDY_TABLE_ASSETS = [kf_study, study_tables]

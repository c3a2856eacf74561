"""Step 3 i-iv: the study's DataService tables, each read once, paginated at max page size.

Genomic files are read once without ``is_harmonized``/``visible`` filters: the
unharmonized visible ones are the join's sources (seed step 3 i) and the
harmonized ones tell the plan what already exists, so one read serves both.
"""

import time
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AssetsDefinition, Failure, MetadataValue, asset

from gwo_assets.assets.metadata import frame_metadata
from gwo_assets.assets.progress import Progress
from gwo_assets.errors import ConcurrentLoadError, DataServiceError
from gwo_assets.resources import study_lock
from gwo_assets.resources.dataservice import DataServiceResource
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


def read_study_table(context: AssetExecutionContext, dataservice: DataServiceResource,
                     endpoint: str, params: dict[str, str]) -> pd.DataFrame:
    """One paginated bulk read, with progress lines and request counts in the metadata."""
    client = dataservice.get_client()
    progress = Progress(context.log, f"GET {endpoint}", None, unit="rows")
    pages = 0

    def on_page(rows_so_far: int, total: int | None) -> None:
        nonlocal pages
        pages += 1
        progress.set_total(total)
        progress.advance(rows_so_far - progress.done)

    try:
        records = client.list_all(endpoint, params, on_page=on_page)
    except DataServiceError as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None
    seconds = progress.finish()
    frame = records_frame(records, endpoint)
    context.add_output_metadata({
        **frame_metadata(frame, TABLE_COLUMNS.get(endpoint)),
        "rows_read": MetadataValue.int(len(frame)),
        "pages_fetched": MetadataValue.int(pages),
        "query": MetadataValue.text(f"{endpoint}?" + "&".join(f"{k}={v}" for k, v in params.items())),
        "dataservice_requests": MetadataValue.json(client.request_counts()),
        "duration_seconds": MetadataValue.float(round(seconds, 3)),
    })
    return frame


@asset(group_name="study_tables", compute_kind="dataservice")
def kf_study(context: AssetExecutionContext, ingest: IngestSettings,
             dataservice: DataServiceResource) -> dict:
    """The study record: the run stops here when the study does not exist.

    A real run also takes the study's load lock here, before anything is read for
    planning, so two runs can never plan against the same state and both write.
    """
    started = time.monotonic()
    try:
        if not ingest.dry_run:
            study_lock.acquire(ingest.lock_dir, ingest.study_id, context.run_id)
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


def study_table_asset(name: str, endpoint: str, description: str) -> AssetsDefinition:
    """A bulk read of ``endpoint?study_id=<study>`` as an asset."""

    @asset(name=name, group_name="study_tables", compute_kind="dataservice", deps=[kf_study],
           description=description)
    def _table(context: AssetExecutionContext, ingest: IngestSettings,
               dataservice: DataServiceResource) -> pd.DataFrame:
        return read_study_table(context, dataservice, endpoint, {"study_id": ingest.study_id})

    return _table


study_genomic_files = study_table_asset(
    "study_genomic_files", "/genomic-files",
    "Every genomic file of the study (seed 3 i): unharmonized sources and harmonized files "
    "already loaded. Files without a biospecimen link are invisible to this read.")
study_sequencing_experiments = study_table_asset(
    "study_sequencing_experiments", "/sequencing-experiments",
    "The study's sequencing experiments (seed 3 ii).")
study_sequencing_experiment_genomic_files = study_table_asset(
    "study_sequencing_experiment_genomic_files", "/sequencing-experiment-genomic-files",
    "The study's sequencing experiment - genomic file links (seed 3 iii).")
study_biospecimen_genomic_files = study_table_asset(
    "study_biospecimen_genomic_files", "/biospecimen-genomic-files",
    "The study's biospecimen - genomic file links (seed 3 iv).")
study_biospecimens = study_table_asset(
    "study_biospecimens", "/biospecimens",
    "The study's biospecimens, to check that the manifest's belong to the study and participant.")

STUDY_TABLE_ASSETS = [kf_study, study_genomic_files, study_sequencing_experiments,
                      study_sequencing_experiment_genomic_files, study_biospecimen_genomic_files,
                      study_biospecimens]

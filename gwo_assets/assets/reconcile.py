"""Check 4: after the writes, read the study back and reconcile it with the plan.

Each planned file must exist once with the planned fields, each planned link once,
and nothing else of the study may have changed. The run's own files are read back
whether linked or not (``files_outside_study_read``), so a second record for one
external_id can never pass. In a dry run the expectation is
that nothing changed at all, so the check is meaningful in both modes.
"""

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetIn, MetadataValue

from gwo_assets.partitions import study_check
from gwo_assets.assets.step_helpers.check_results import issues_check_result
from gwo_assets.assets.load import sequencing_experiment_genomic_files
from gwo_assets.assets.study_tables import records_frame
from gwo_assets.core.existing_files import reusable
from gwo_assets.core.reconcile import READ_BACK_BY, TABLES, Expected, reconcile
from gwo_assets.resources.dataservice import DataServiceClient, DataServiceResource
from gwo_assets.resources.run_settings import IngestSettings

ENDPOINTS = {"genomic_files": "/genomic-files",
             "biospecimen_genomic_files": "/biospecimen-genomic-files",
             "sequencing_experiment_genomic_files": "/sequencing-experiment-genomic-files"}
LINK_TARGETS = {"biospecimen_genomic_files": "biospecimen_id",
                "sequencing_experiment_genomic_files": "sequencing_experiment_id"}


def expected_state(dry_run: bool, file_plan: pd.DataFrame,
                   results: dict[str, pd.DataFrame], run_id: str = "") -> Expected:
    """Real run: every planned row holds. Dry run: only what was already unchanged holds."""
    keep = (lambda frame: frame) if not dry_run else (
        lambda frame: frame[frame["action"] == "unchanged"])
    files = keep(file_plan)
    links = {table: set(zip(keep(results[table])["external_id"], keep(results[table])[target]))
             for table, target in LINK_TARGETS.items()}
    written = {table: set() if dry_run else
               set(results[table].loc[results[table]["status"] == "done", "kf_id"].dropna())
               for table in TABLES}
    return Expected(files=dict(zip(files["external_id"], files["expected"])), links=links,
                    written=written, run_id=run_id)


def files_outside_study_read(client: DataServiceClient, study_files: list[dict],
                             file_plan: pd.DataFrame, file_results: pd.DataFrame) -> list[dict]:
    """The run's files the study read cannot see, so that none escapes the read-back.

    ``?study_id=`` only returns files with a biospecimen link: every file the run created,
    PATCHed or reused that it did not return is read by kf_id (a primary-key read), and
    every external_id whose create saw a lost or unclear answer is also listed without the
    study filter, so even a record some other writer made beside it is counted.
    """
    seen = {record["kf_id"] for record in study_files}
    kf_ids = set(file_plan["kf_id"].dropna()) | set(file_results["kf_id"].dropna())
    missing = sorted(kf_ids - seen)
    uncertain = file_results.get("uncertain", pd.Series(dtype=int)).fillna(0).astype(int) > 0
    external_ids = sorted(set(file_results.loc[uncertain, "external_id"]))
    by_kf_id = [record for record in client.map_concurrently(
        lambda kf_id: client.get("/genomic-files", kf_id), missing) if record is not None]
    by_external_id = client.map_concurrently(
        lambda external_id: client.list_all("/genomic-files", {"external_id": external_id}),
        external_ids)
    found = {record["kf_id"]: record for records in by_external_id for record in records
             if record["kf_id"] not in seen} | {record["kf_id"]: record for record in by_kf_id}
    for kf_id, record in found.items():
        record[READ_BACK_BY] = "kf_id" if kf_id in kf_ids else "external_id"
    return list(found.values())


@study_check(
    asset=sequencing_experiment_genomic_files, blocking=True,
    additional_ins={name: AssetIn(name) for name in (
        "genomic_files_plan", "genomic_files", "biospecimen_genomic_files",
        "study_genomic_files", "existing_harmonized_files", "study_biospecimen_genomic_files",
        "study_sequencing_experiment_genomic_files")},
    description="Read back from the DataService: every planned file and link exists exactly "
                "once with the planned fields, and nothing else of the study changed.")
def load_matches_plan(context: AssetCheckExecutionContext, ingest: IngestSettings,
                      dataservice: DataServiceResource,
                      sequencing_experiment_genomic_files: pd.DataFrame,
                      genomic_files_plan: pd.DataFrame, genomic_files: pd.DataFrame,
                      biospecimen_genomic_files: pd.DataFrame, study_genomic_files: pd.DataFrame,
                      existing_harmonized_files: pd.DataFrame,
                      study_biospecimen_genomic_files: pd.DataFrame,
                      study_sequencing_experiment_genomic_files: pd.DataFrame):
    client = dataservice.get_client()
    reads = client.map_concurrently(  # the three tables at once: each is a chain of pages
        lambda endpoint: client.list_all(endpoint, {"study_id": ingest.study_id}),
        list(ENDPOINTS.values()))
    reads[0] += files_outside_study_read(client, reads[0], genomic_files_plan, genomic_files)
    after = {table: records_frame(records, endpoint)
             for (table, endpoint), records in zip(ENDPOINTS.items(), reads)}
    # Files without a biospecimen link (another tool's, or an interrupted run's) are invisible
    # to the study read; the plan reuses them, so they are read back by kf_id (they existed
    # before the run too). Another study's files and Filepaths held twice are never touched.
    files_before = pd.concat([study_genomic_files, reusable(existing_harmonized_files)],
                             ignore_index=True).drop_duplicates("kf_id")
    before = {"genomic_files": files_before,
              "biospecimen_genomic_files": study_biospecimen_genomic_files,
              "sequencing_experiment_genomic_files": study_sequencing_experiment_genomic_files}
    results = {"genomic_files": genomic_files,
               "biospecimen_genomic_files": biospecimen_genomic_files,
               "sequencing_experiment_genomic_files": sequencing_experiment_genomic_files}
    issues = reconcile(before, after, expected_state(ingest.dry_run, genomic_files_plan, results,
                                                         context.run.run_id))
    return issues_check_result(
        context, issues, report_dir=ingest.report_dir, what="Read-back reconciliation",
        dry_run=ingest.dry_run,
        blocked="the writes are done: follow each record's suggestion (a rerun fixes missing or "
                "changed records, never duplicates)",
        extra_metadata={"rows_read_back": MetadataValue.json({t: len(f) for t, f in after.items()})})

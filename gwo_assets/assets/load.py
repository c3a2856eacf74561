"""Steps 1-3: the writes, in seed order: genomic files, biospecimen links, experiment links.

Each load carries out its plan (unless ``dry_run``), concurrently over one pooled
session, and records every kf_id it created or updated. A POST whose outcome is
unknown is resolved by looking the entity up by its natural key, never re-sent
blindly, so reruns and retries never duplicate.
"""

import time
from collections.abc import Callable

import pandas as pd
from dagster import AssetExecutionContext, Failure, MetadataValue, asset

from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.assets.step_helpers.artifacts import run_dir, write_csv
from gwo_assets.assets.step_helpers.metadata import counts_md, frame_metadata
from gwo_assets.assets.plans import biospecimen_links_plan, experiment_links_plan
from gwo_assets.assets.step_helpers.progress import Progress
from gwo_assets.core.payloads import biospecimen_link_payload, experiment_link_payload
from gwo_assets.errors import ConcurrentLoadError, DataServiceError
from gwo_assets.core.plan import record_matches_body
from gwo_assets.resources import study_lock
from gwo_assets.resources.dataservice import DataServiceClient, DataServiceResource
from gwo_assets.resources.run_settings import IngestSettings

WRITE_ACTIONS = ("create", "update")


def find_created_file(client: DataServiceClient, body: dict, known: set[str]) -> dict | None:
    """The genomic file a POST of ``body`` whose answer was lost created, or None.

    Not simply any file with that external_id (another study may hold one): a record
    unknown before the POST (``known``: every kf_id seen for it while planning), whose
    fields equal the body sent and which has no biospecimen link yet (a record made a
    moment ago by this run has none; another study's has); the newest if several.
    """
    found = client.list_all("/genomic-files", {"external_id": body["external_id"]})
    made = [record for record in found
            if record.get("kf_id") not in known and record_matches_body(record, body)
            and not client.list_all("/biospecimen-genomic-files",
                                    {"genomic_file_id": record["kf_id"]})]
    return max(made, key=lambda record: record.get("created_at") or "") if made else None


def find_link(client: DataServiceClient, endpoint: str, genomic_file_id: str,
              target: str, target_id: str) -> dict | None:
    found = client.list_all(endpoint, {"genomic_file_id": genomic_file_id, target: target_id})
    return found[0] if found else None


def hold_study_lock(context: AssetExecutionContext, ingest: IngestSettings) -> None:
    """Every write step re-checks that its run holds the study's load lock."""
    try:
        study_lock.require(ingest.study_id, context.run_id)
    except ConcurrentLoadError as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None


EXISTED = "_existed"  # marks a record a create found already there (not made by this run)


def execute_plan(context: AssetExecutionContext, client: DataServiceClient, plan: pd.DataFrame,
                 write: Callable[[dict], dict], label: str, ingest: IngestSettings,
                 ) -> pd.DataFrame:
    """Run ``write`` (-> the record as written) for every create/update row; add ``kf_id``,
    ``modified_at`` (what undo compares before it touches the record), ``status``, ``error``.
    A create that found its record already there (another writer's) becomes ``unchanged``,
    so the report never claims it and undo never deletes it."""
    results = plan.copy()
    results["status"] = results["action"].where(results["action"] == "unchanged", "pending")
    results["error"] = None
    results["modified_at"] = None
    todo = results.index[results["action"].isin(WRITE_ACTIONS)]
    rows = results.loc[todo].to_dict("records")  # once: a per-write .loc costs client CPU
    progress = Progress(context.log, label, len(todo), unit="writes")

    still_holds_lock = study_lock.watch(ingest.study_id, context.run_id)

    def run(row: dict) -> dict:
        still_holds_lock()  # never write after the study lock was lost
        record = write(row)
        progress.advance()
        return record

    outcomes = client.run_concurrently(run, rows)
    progress.finish()
    for index, outcome in zip(todo, outcomes):
        if outcome.error is None:
            results.at[index, "kf_id"] = outcome.value["kf_id"]
            results.at[index, "modified_at"] = outcome.value.get("modified_at")
            results.at[index, "status"] = "done"
            if outcome.value.get(EXISTED):
                results.at[index, "action"] = "unchanged"
        else:
            results.at[index, "status"] = "failed"
            results.at[index, "error"] = str(outcome.error)
    return results


def dry_run_results(plan: pd.DataFrame) -> pd.DataFrame:
    results = plan.copy()
    results["status"] = results["action"].where(results["action"] == "unchanged", "planned")
    results["error"] = None
    return results


def finish_load(context: AssetExecutionContext, ingest: IngestSettings, name: str,
                results: pd.DataFrame, client: DataServiceClient, started: float,
                columns: list[str]) -> pd.DataFrame:
    """Save the results next to the report, attach counts, and fail on any failed write."""
    folder = run_dir(ingest.report_dir, context.run_id)
    csv_path = write_csv(folder / f"{name}.csv", results)
    results.to_json(folder / f"{name}.jsonl", orient="records", lines=True)
    planned = results["action"].value_counts().to_dict()
    status = results["status"].value_counts().to_dict()
    counts = {f"planned_{a}": int(planned.get(a, 0)) for a in ("create", "update", "unchanged")}
    counts |= {s: int(status.get(s, 0)) for s in ("done", "failed")}
    context.add_output_metadata({
        **frame_metadata(results, columns),
        **{key: MetadataValue.int(value) for key, value in counts.items()},
        "dry_run": MetadataValue.bool(ingest.dry_run),
        "dataservice_requests": MetadataValue.json(client.request_counts()),
        "duration_seconds": MetadataValue.float(round(time.monotonic() - started, 3)),
        "results_csv": MetadataValue.path(str(csv_path)),
        "summary": counts_md(f"{name} ({'dry run' if ingest.dry_run else 'written'})", counts),
    })
    failed = results[results["status"] == "failed"]
    if len(failed):
        first = "; ".join(failed["error"].astype(str).head(3))
        message = f"{len(failed)} {name} write(s) failed (rerun to retry; nothing is duplicated): {first}"
        context.log.error(message)
        raise Failure(description=message, metadata={"failed": MetadataValue.int(len(failed))})
    return results


@asset(partitions_def=STUDY_PARTITIONS, group_name="load", compute_kind="dataservice",
       pool="gwo_dataservice_writes",
       deps=[biospecimen_links_plan, experiment_links_plan])
def genomic_files(context: AssetExecutionContext, ingest: IngestSettings,
                  dataservice: DataServiceResource, genomic_files_plan: pd.DataFrame,
                  existing_harmonized_files: pd.DataFrame) -> pd.DataFrame:
    """Step 1: POST new harmonized files, PATCH changed ones (/genomic-files)."""
    started = time.monotonic()
    client = dataservice.get_client()
    if ingest.dry_run:
        results = dry_run_results(genomic_files_plan)
    else:
        hold_study_lock(context, ingest)
        known = existing_harmonized_files.groupby("external_id")["kf_id"].agg(set).to_dict()

        def write(row: dict) -> dict:
            if row["action"] == "update":
                return client.update("/genomic-files", row["kf_id"], row["payload"])
            return client.create("/genomic-files", row["payload"], find_existing=lambda: (
                find_created_file(client, row["payload"], known.get(row["external_id"], set()))
            )).record

        results = execute_plan(context, client, genomic_files_plan, write, "POST/PATCH /genomic-files",
                               ingest)
    return finish_load(context, ingest, "genomic_files", results, client, started,
                       ["external_id", "action", "kf_id", "status", "error"])


def load_links(context: AssetExecutionContext, ingest: IngestSettings,
               dataservice: DataServiceResource, plan: pd.DataFrame, files: pd.DataFrame,
               endpoint: str, target: str, payload: Callable[[str, str], dict],
               name: str) -> pd.DataFrame:
    """Create the planned links, resolving files created earlier in this run by external_id."""
    started = time.monotonic()
    client = dataservice.get_client()
    file_ids = dict(zip(files["external_id"], files["kf_id"]))
    plan = plan.copy()
    plan["genomic_file_id"] = plan["genomic_file_id"].fillna(plan["external_id"].map(file_ids))
    if ingest.dry_run:
        results = dry_run_results(plan)
    else:
        hold_study_lock(context, ingest)

        def write(row: dict) -> dict:
            gf_id, target_id = row["genomic_file_id"], row[target]
            find = lambda: find_link(client, endpoint, gf_id, target, target_id)  # noqa: E731
            try:
                return client.create(endpoint, payload(gf_id, target_id), find_existing=find).record
            except DataServiceError as error:
                existing = find() if error.status == 400 and "already exists" in str(error) else None
                if existing is None:
                    raise
                return {**existing, EXISTED: True}

        results = execute_plan(context, client, plan, write, f"POST {endpoint}", ingest)
    return finish_load(context, ingest, name, results, client, started,
                       ["external_id", "genomic_file_id", target, "action", "kf_id", "status"])


@asset(partitions_def=STUDY_PARTITIONS, group_name="load", compute_kind="dataservice",
       pool="gwo_dataservice_writes")
def biospecimen_genomic_files(context: AssetExecutionContext, ingest: IngestSettings,
                              dataservice: DataServiceResource, biospecimen_links_plan: pd.DataFrame,
                              genomic_files: pd.DataFrame) -> pd.DataFrame:
    """Step 2: link each harmonized file to its biospecimen(s) (/biospecimen-genomic-files)."""

    return load_links(context, ingest, dataservice, biospecimen_links_plan, genomic_files,
                      "/biospecimen-genomic-files", "biospecimen_id", biospecimen_link_payload,
                      "biospecimen_genomic_files")


@asset(partitions_def=STUDY_PARTITIONS, group_name="load", compute_kind="dataservice",
       pool="gwo_dataservice_writes",
       deps=[biospecimen_genomic_files])
def sequencing_experiment_genomic_files(context: AssetExecutionContext, ingest: IngestSettings,
                                        dataservice: DataServiceResource,
                                        experiment_links_plan: pd.DataFrame,
                                        genomic_files: pd.DataFrame) -> pd.DataFrame:
    """Step 3: link each harmonized file to the experiment(s) of its source reads."""
    return load_links(context, ingest, dataservice, experiment_links_plan, genomic_files,
                      "/sequencing-experiment-genomic-files", "sequencing_experiment_id",
                      experiment_link_payload, "sequencing_experiment_genomic_files")

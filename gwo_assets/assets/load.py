"""Steps 1-3: the writes, in seed order: genomic files, biospecimen links, experiment links.

Each load carries out its plan, concurrently over one pooled session, and records every
kf_id it created or updated. A dry run materializes none of them (a green load asset means
loaded): ``genomic_files`` then yields nothing, saves what each load would do for the report
and records it as an observation of each load asset; the link steps are skipped. What a create means (its
identity, re-sends, lost answers) is ``resources/creates.py``'s: however late the
DataService commits a POST, there is never a second record.
"""

import time
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
from dagster import AssetExecutionContext, AssetObservation, Failure, MetadataValue, Output, asset

from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.assets.step_helpers.artifacts import run_dir, write_csv
from gwo_assets.assets.step_helpers.metadata import counts_md, frame_metadata
from gwo_assets.assets.step_helpers.progress import Progress
from gwo_assets.core.payloads import biospecimen_link_payload, experiment_link_payload
from gwo_assets.errors import ConcurrentLoadError
from gwo_assets.resources import study_lock
from gwo_assets.resources.creates import Created, create_genomic_file, create_link
from gwo_assets.resources.dataservice import DataServiceClient, DataServiceResource
from gwo_assets.resources.run_settings import IngestSettings

WRITE_ACTIONS = ("create", "update")


def hold_study_lock(context: AssetExecutionContext, ingest: IngestSettings) -> None:
    """Every write step re-checks that its run holds the study's load lock."""
    try:
        study_lock.require(ingest.study_id, context.run_id)
    except ConcurrentLoadError as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None


def execute_plan(context: AssetExecutionContext, client: DataServiceClient, plan: pd.DataFrame,
                 write: Callable[[dict], Created], label: str, ingest: IngestSettings,
                 ) -> pd.DataFrame:
    """Run ``write`` for every create/update row; add ``kf_id``, ``modified_at`` (what undo
    compares before it touches the record), ``status``, ``error`` and ``uncertain`` (answers
    lost on the way: the read-back looks those files up by external_id too). A create that
    found its record already there (another writer's) becomes ``unchanged``, so the report
    never claims it and undo never deletes it."""
    results = plan.copy()
    results["status"] = results["action"].where(results["action"] == "unchanged", "pending")
    results["error"] = None
    results["modified_at"] = None
    results["uncertain"] = 0
    todo = results.index[results["action"].isin(WRITE_ACTIONS)]
    rows = results.loc[todo].to_dict("records")  # once: a per-write .loc costs client CPU
    progress = Progress(context.log, label, len(todo), unit="writes")

    still_holds_lock = study_lock.watch(ingest.study_id, context.run_id)

    def run(row: dict) -> Created:
        still_holds_lock()  # never write after the study lock was lost
        created = write(row)
        progress.advance()
        # keep what the results need, not 10,000 whole records until the last write ends
        kept = {key: created.record.get(key) for key in ("kf_id", "modified_at")}
        return replace(created, record=kept)

    outcomes = client.run_concurrently(run, rows)
    progress.finish()
    for index, outcome in zip(todo, outcomes):
        if outcome.error is None:
            results.at[index, "kf_id"] = outcome.value.record["kf_id"]
            results.at[index, "modified_at"] = outcome.value.record.get("modified_at")
            results.at[index, "status"] = "done"
            results.at[index, "uncertain"] = outcome.value.uncertain
            if outcome.value.existed:
                results.at[index, "action"] = "unchanged"
        else:
            results.at[index, "status"] = "failed"
            results.at[index, "error"] = str(outcome.error)
    return results


def dry_run_results(plan: pd.DataFrame) -> pd.DataFrame:
    results = plan.copy()
    results["status"] = results["action"].where(results["action"] == "unchanged", "planned")
    results["error"] = None
    results["uncertain"] = 0
    return results


def save_results(ingest: IngestSettings, run_id: str, name: str,
                 results: pd.DataFrame) -> tuple[dict[str, int], str]:
    """The results next to the report (CSV, and JSON lines the report reads); the counts."""
    folder = run_dir(ingest.report_dir, run_id)
    csv_path = write_csv(folder / f"{name}.csv", results)
    results.to_json(folder / f"{name}.jsonl", orient="records", lines=True)
    planned = results["action"].value_counts().to_dict()
    status = results["status"].value_counts().to_dict()
    counts = {f"planned_{a}": int(planned.get(a, 0)) for a in ("create", "update", "unchanged")}
    counts |= {s: int(status.get(s, 0)) for s in ("done", "failed")}
    return counts, str(csv_path)


def finish_load(context: AssetExecutionContext, ingest: IngestSettings, name: str,
                results: pd.DataFrame, client: DataServiceClient, started: float,
                columns: list[str]) -> Output:
    """Save the results next to the report, attach counts, and fail on any failed write."""
    counts, csv_path = save_results(ingest, context.run_id, name, results)
    metadata = {
        **frame_metadata(results, columns),
        **{key: MetadataValue.int(value) for key, value in counts.items()},
        "dry_run": MetadataValue.bool(ingest.dry_run),
        "dataservice_requests": MetadataValue.json(client.request_counts()),
        "duration_seconds": MetadataValue.float(round(time.monotonic() - started, 3)),
        "results_csv": MetadataValue.path(csv_path),
        "summary": counts_md(f"{name} (written)", counts),
    }
    failed = results[results["status"] == "failed"]
    if len(failed):
        first = "; ".join(failed["error"].astype(str).head(3))
        message = f"{len(failed)} {name} write(s) failed (rerun to retry; nothing is duplicated): {first}"
        context.log.error(message)
        raise Failure(description=message, metadata={"failed": MetadataValue.int(len(failed))})
    return Output(results, metadata=metadata)


def record_dry_run(context: AssetExecutionContext, ingest: IngestSettings,
                   plans: dict[str, pd.DataFrame]) -> None:
    """A dry run loads nothing: save what each load would do (the report reads it) and record
    it as an observation of each load asset, never as a materialization."""
    files = plans["genomic_files"]
    file_ids = dict(zip(files["external_id"], files["kf_id"]))
    for name, plan in plans.items():
        if name != "genomic_files":
            plan = plan.copy()
            plan["genomic_file_id"] = plan["genomic_file_id"].fillna(plan["external_id"].map(file_ids))
        counts, csv_path = save_results(ingest, context.run_id, name, dry_run_results(plan))
        context.log_event(AssetObservation(
            asset_key=name, partition=context.partition_key,
            description=f"Dry run {context.run_id}: nothing loaded; a real run on the same state "
                        f"would create {counts['planned_create']} and update "
                        f"{counts['planned_update']}",
            metadata={**{key: MetadataValue.int(value) for key, value in counts.items()},
                      "dry_run": MetadataValue.bool(True),
                      "run": MetadataValue.dagster_run(context.run_id),
                      "results_csv": MetadataValue.path(csv_path),
                      "summary": counts_md(f"{name} (dry run: not loaded)", counts)}))
    context.log.info("Dry run: the load assets are not materialized (nothing was written); "
                     "what each would write is in the plan, the report and their observations")


@asset(partitions_def=STUDY_PARTITIONS, group_name="load", compute_kind="dataservice",
       pool="gwo_dataservice_writes", output_required=False)
def genomic_files(context: AssetExecutionContext, ingest: IngestSettings,
                  dataservice: DataServiceResource, genomic_files_plan: pd.DataFrame,
                  biospecimen_links_plan: pd.DataFrame, experiment_links_plan: pd.DataFrame):
    """Step 1: POST new harmonized files, PATCH changed ones (/genomic-files). A dry run
    yields nothing (see the module)."""
    if ingest.dry_run:
        record_dry_run(context, ingest, {
            "genomic_files": genomic_files_plan, "biospecimen_genomic_files": biospecimen_links_plan,
            "sequencing_experiment_genomic_files": experiment_links_plan})
        return
    started = time.monotonic()
    client = dataservice.get_client()
    hold_study_lock(context, ingest)

    def write(row: dict) -> Created:
        if row["action"] == "update":
            return Created(client.update("/genomic-files", row["kf_id"], row["payload"]))
        return create_genomic_file(client, row["payload"])

    results = execute_plan(context, client, genomic_files_plan, write, "POST/PATCH /genomic-files",
                           ingest)
    yield finish_load(context, ingest, "genomic_files", results, client, started,
                      ["external_id", "action", "kf_id", "status", "error"])


def load_links(context: AssetExecutionContext, ingest: IngestSettings,
               dataservice: DataServiceResource, plan: pd.DataFrame, files: pd.DataFrame,
               endpoint: str, target: str, payload: Callable[[str, str], dict],
               name: str) -> Output:
    """Create the planned links, resolving files created earlier in this run by external_id."""
    started = time.monotonic()
    client = dataservice.get_client()
    file_ids = dict(zip(files["external_id"], files["kf_id"]))
    plan = plan.copy()
    plan["genomic_file_id"] = plan["genomic_file_id"].fillna(plan["external_id"].map(file_ids))
    hold_study_lock(context, ingest)

    def write(row: dict) -> Created:
        body = payload(row["genomic_file_id"], row[target])
        return create_link(client, endpoint, body, target)

    results = execute_plan(context, client, plan, write, f"POST {endpoint}", ingest)
    return finish_load(context, ingest, name, results, client, started,
                       ["external_id", "genomic_file_id", target, "action", "kf_id", "status"])


@asset(partitions_def=STUDY_PARTITIONS, group_name="load", compute_kind="dataservice",
       pool="gwo_dataservice_writes", output_required=False)
def biospecimen_genomic_files(context: AssetExecutionContext, ingest: IngestSettings,
                              dataservice: DataServiceResource, biospecimen_links_plan: pd.DataFrame,
                              genomic_files: pd.DataFrame):
    """Step 2: link each harmonized file to its biospecimen(s) (/biospecimen-genomic-files)."""
    if not ingest.dry_run:  # a whole dry run skips this step (genomic_files yields nothing)
        yield load_links(context, ingest, dataservice, biospecimen_links_plan, genomic_files,
                         "/biospecimen-genomic-files", "biospecimen_id", biospecimen_link_payload,
                         "biospecimen_genomic_files")


@asset(partitions_def=STUDY_PARTITIONS, group_name="load", compute_kind="dataservice",
       pool="gwo_dataservice_writes", output_required=False,
       deps=[biospecimen_genomic_files])
def sequencing_experiment_genomic_files(context: AssetExecutionContext, ingest: IngestSettings,
                                        dataservice: DataServiceResource,
                                        experiment_links_plan: pd.DataFrame,
                                        genomic_files: pd.DataFrame):
    """Step 3: link each harmonized file to the experiment(s) of its source reads."""
    if not ingest.dry_run:
        yield load_links(context, ingest, dataservice, experiment_links_plan, genomic_files,
                         "/sequencing-experiment-genomic-files", "sequencing_experiment_id",
                         experiment_link_payload, "sequencing_experiment_genomic_files")

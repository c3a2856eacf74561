"""What each write step would do: desired state vs what the DataService already holds.

Plans are assets of their own so that their blocking checks (access never wider
than the sources, payload expectations) run before the first write.
"""

import pandas as pd
from dagster import (AssetCheckExecutionContext, AssetExecutionContext, AssetIn, MetadataValue,
                     asset, asset_check)

from gwo_assets.assets.check_results import issues_check_result, warning_check_result
from gwo_assets.assets.links import HarmonizedFileSources
from gwo_assets.assets.manifest import GwoManifest
from gwo_assets.assets.metadata import counts_md, frame_metadata
from gwo_assets.assets.progress import Progress
from gwo_assets.assets.s3_metadata import missing_object_issues
from gwo_assets.core.access import inherit_access, more_open_than_sources
from gwo_assets.core.joins import harmonized_biospecimens, harmonized_experiments
from gwo_assets.core.payloads import genomic_file_payloads
from gwo_assets.core.plan import hidden_files, plan_genomic_files, plan_links, summarize_plan
from gwo_assets.resources import pending_files
from gwo_assets.resources.dataservice import DataServiceResource
from gwo_assets.resources.run_settings import IngestSettings


def invalid_filepaths(manifest: GwoManifest, s3_metadata: pd.DataFrame,
                      sources: HarmonizedFileSources) -> set[str]:
    """Files with any error anywhere upstream: skipped whole when skip_invalid_rows is on."""
    issues = pd.concat([manifest.issues, missing_object_issues(s3_metadata, manifest.rows),
                        sources.issues], ignore_index=True)
    bad_rows = set(issues.loc[issues["severity"] == "error", "row"].dropna().astype(int))
    rows = manifest.rows
    return set(rows.loc[rows["row"].astype(int).isin(bad_rows), "filepath"].dropna())


def plan_metadata(plan: pd.DataFrame, columns: list[str], skipped: int) -> dict:
    counts = summarize_plan(plan)
    return {
        **frame_metadata(plan, columns),
        **{f"planned_{action}": MetadataValue.int(int(counts.get(action, 0)))
           for action in ("create", "update", "unchanged")},
        "skipped_files": MetadataValue.int(skipped),
        "plan": counts_md("Planned writes", counts),
    }


@asset(group_name="plans", compute_kind="dataservice")
def existing_harmonized_files(context: AssetExecutionContext, ingest: IngestSettings,
                              dataservice: DataServiceResource, gwo_manifest: GwoManifest,
                              study_genomic_files: pd.DataFrame) -> pd.DataFrame:
    """DataService genomic files whose external_id is a manifest Filepath.

    The study read cannot see a file without a biospecimen link (left by an
    interrupted run), so manifest files it did not return are looked up by
    external_id, concurrently: those an earlier run recorded as pending (see
    ``resources/pending_files.py``), or all of them with ``lookup_all_unseen_files``.
    """
    wanted = set(gwo_manifest.filepaths)
    seen = study_genomic_files[study_genomic_files["external_id"].isin(wanted)]
    unseen = wanted - set(seen["external_id"])
    recorded = pending_files.pending(ingest.lock_dir, ingest.study_id)
    lookups = sorted(unseen if ingest.lookup_all_unseen_files else unseen & recorded)
    client = dataservice.get_client()
    progress = Progress(context.log, "GET /genomic-files?external_id= (files not seen by study)",
                        len(lookups), unit="lookups")

    def lookup(filepath: str) -> list[dict]:
        found = client.list_all("/genomic-files", {"external_id": filepath})
        progress.advance()
        return found

    results = client.map_concurrently(lookup, lookups)
    progress.finish()
    found = [record for records in results for record in records]
    existing = pd.concat([seen, pd.DataFrame.from_records(found)], ignore_index=True)
    existing = existing.drop_duplicates("kf_id") if len(existing) else existing
    context.add_output_metadata({
        **frame_metadata(existing, ["kf_id", "external_id", "size", "created_at"]),
        "found_by_study_read": MetadataValue.int(len(seen)),
        "not_seen_by_study_read": MetadataValue.int(len(unseen)),
        "pending_from_earlier_runs": MetadataValue.int(len(recorded & wanted)),
        "fallback_lookups": MetadataValue.int(len(lookups)),
        "found_by_fallback": MetadataValue.int(len(found)),
        "dataservice_requests": MetadataValue.json(client.request_counts()),
    })
    return existing


@asset(group_name="plans", compute_kind="pandas")
def genomic_files_plan(context: AssetExecutionContext, ingest: IngestSettings,
                       gwo_manifest: GwoManifest, harmonized_file_s3_metadata: pd.DataFrame,
                       harmonized_file_sources: HarmonizedFileSources,
                       existing_harmonized_files: pd.DataFrame) -> pd.DataFrame:
    """Per harmonized file: create / update / unchanged, with the body to send."""
    skipped = invalid_filepaths(gwo_manifest, harmonized_file_s3_metadata, harmonized_file_sources)
    rows = gwo_manifest.rows[~gwo_manifest.rows["filepath"].isin(skipped)]
    joined = harmonized_file_sources.joined
    joined = joined[~joined["filepath"].isin(skipped)]
    desired = genomic_file_payloads(rows, harmonized_file_s3_metadata, inherit_access(joined))
    plan = plan_genomic_files(desired, existing_harmonized_files).merge(
        desired[["external_id", "payload"]].rename(columns={"payload": "desired"}),
        on="external_id", how="left")
    context.add_output_metadata(plan_metadata(
        plan, ["external_id", "action", "kf_id", "changed_fields"], len(skipped)))
    return plan


@asset_check(asset=genomic_files_plan, blocking=True,
             additional_ins={"harmonized_file_sources": AssetIn("harmonized_file_sources")},
             description="No planned file is more open (controlled_access, authz, acl) than "
                         "any of its source files.")
def no_file_more_open_than_sources(context: AssetCheckExecutionContext, ingest: IngestSettings,
                                   genomic_files_plan: pd.DataFrame,
                                   harmonized_file_sources: HarmonizedFileSources):
    issues = more_open_than_sources(genomic_files_plan, harmonized_file_sources.joined)
    return issues_check_result(context, issues, report_dir=ingest.report_dir,
                               what="Access control")


@asset_check(asset=genomic_files_plan, blocking=False,
             additional_ins={"existing_harmonized_files": AssetIn("existing_harmonized_files")},
             description="No manifest file is a genomic file someone hid (visible: false): the "
                         "ingest never shows it again, so each is listed (WARN) with its kf_id.")
def no_planned_file_is_hidden(context: AssetCheckExecutionContext, ingest: IngestSettings,
                              genomic_files_plan: pd.DataFrame,
                              existing_harmonized_files: pd.DataFrame):
    issues = hidden_files(genomic_files_plan, existing_harmonized_files)
    return warning_check_result(context, issues, report_dir=ingest.report_dir,
                                what="Hidden genomic files")


def _known_file_ids(genomic_files_plan: pd.DataFrame) -> pd.DataFrame:
    known = genomic_files_plan[genomic_files_plan["kf_id"].notna()]
    return known[["external_id", "kf_id"]]


@asset(group_name="plans", compute_kind="pandas")
def biospecimen_links_plan(context: AssetExecutionContext, gwo_manifest: GwoManifest,
                           genomic_files_plan: pd.DataFrame,
                           study_biospecimen_genomic_files: pd.DataFrame) -> pd.DataFrame:
    """Per (harmonized file, biospecimen) of the manifest: create or unchanged."""
    planned = set(genomic_files_plan["external_id"])
    rows = gwo_manifest.rows[gwo_manifest.rows["filepath"].isin(planned)]
    plan = plan_links(harmonized_biospecimens(rows), study_biospecimen_genomic_files,
                      _known_file_ids(genomic_files_plan), "biospecimen_id")
    context.add_output_metadata(plan_metadata(
        plan, ["external_id", "biospecimen_id", "action", "kf_id"],
        gwo_manifest.rows["filepath"].nunique() - len(planned)))
    return plan


@asset(group_name="plans", compute_kind="pandas")
def experiment_links_plan(context: AssetExecutionContext, harmonized_file_sources: HarmonizedFileSources,
                          genomic_files_plan: pd.DataFrame,
                          study_sequencing_experiment_genomic_files: pd.DataFrame) -> pd.DataFrame:
    """Per (harmonized file, sequencing experiment of its source reads): create or unchanged."""
    joined = harmonized_file_sources.joined
    joined = joined[joined["filepath"].isin(set(genomic_files_plan["external_id"]))]
    plan = plan_links(harmonized_experiments(joined), study_sequencing_experiment_genomic_files,
                      _known_file_ids(genomic_files_plan), "sequencing_experiment_id")
    context.add_output_metadata(plan_metadata(
        plan, ["external_id", "sequencing_experiment_id", "action", "kf_id"], 0))
    return plan

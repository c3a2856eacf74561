"""What each write step would do: desired state vs what the DataService already holds.

Plans are assets of their own so that their blocking checks (access never wider
than the sources, payload expectations) run before the first write.
"""

import threading
import time

import pandas as pd
from dagster import (AssetCheckExecutionContext, AssetExecutionContext, AssetIn, Failure,
                     MetadataValue, asset)

from gwo_assets.partitions import STUDY_PARTITIONS, study_check
from gwo_assets.assets.step_helpers.check_results import issues_check_result, warning_check_result
from gwo_assets.assets.links import HarmonizedFileSources
from gwo_assets.assets.manifest import GwoManifest
from gwo_assets.assets.step_helpers.metadata import counts_md, frame_metadata
from gwo_assets.assets.step_helpers.progress import Progress
from gwo_assets.assets.s3_metadata import missing_object_issues
from gwo_assets.core.access import inherit_access, more_open_than_sources
from gwo_assets.core.joins import harmonized_biospecimens, harmonized_experiments
from gwo_assets.core.payloads import genomic_file_payloads
from gwo_assets.core.existing_files import (CLAIM_COLUMNS, OWNER_NONE,
                                            OWNER_OTHER_STUDY, OWNER_THIS_STUDY,
                                            duplicated_external_ids, existing_file_issues,
                                            foreign_biospecimens, mark_claimed, owner_of,
                                            reusable)
from gwo_assets.core.lookup_cost import is_checkpoint, lookup_cost, slow_lookup_advice
from gwo_assets.core.plan import hidden_files, plan_genomic_files, plan_links, summarize_plan
from gwo_assets.errors import ConcurrentLoadError
from gwo_assets.resources import object_claims
from gwo_assets.resources.biospecimen_studies import studies_of_biospecimens
from gwo_assets.resources.dataservice import DataServiceClient, DataServiceResource
from gwo_assets.resources.indexd import IndexdResource, url_is_unregistered
from gwo_assets.resources.run_settings import IngestSettings


def invalid_filepaths(manifest: GwoManifest, s3_metadata: pd.DataFrame,
                      sources: HarmonizedFileSources, existing: pd.DataFrame,
                      study_id: str) -> set[str]:
    """Files with any error anywhere upstream: skipped whole when skip_invalid_rows is on."""
    issues = pd.concat([manifest.issues, missing_object_issues(s3_metadata, manifest.rows),
                        sources.issues, existing_file_issues(manifest.rows, existing, study_id)],
                       ignore_index=True)
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


def desired_files(gwo_manifest: GwoManifest, s3_metadata: pd.DataFrame,
                  sources: HarmonizedFileSources, skipped: set[str],
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(manifest rows, joined rows, desired bodies) of the files not ``skipped``."""
    rows = gwo_manifest.rows[~gwo_manifest.rows["filepath"].isin(skipped)]
    joined = sources.joined[~sources.joined["filepath"].isin(skipped)]
    return rows, joined, genomic_file_payloads(rows, s3_metadata, inherit_access(joined))


def files_this_run_would_touch(ingest: IngestSettings, gwo_manifest: GwoManifest,
                               s3_metadata: pd.DataFrame, sources: HarmonizedFileSources,
                               seen: pd.DataFrame, bs_links: pd.DataFrame,
                               se_links: pd.DataFrame) -> set[str]:
    """External_ids of study-read files this run would PATCH or give a new link."""
    skipped = invalid_filepaths(gwo_manifest, s3_metadata, sources, pd.DataFrame(),
                                ingest.study_id)
    rows, joined, desired = desired_files(gwo_manifest, s3_metadata, sources, skipped)
    files = plan_genomic_files(desired, seen)
    touched = set(files.loc[files["action"] == "update", "external_id"])
    known = _known_file_ids(files)
    for plan in (plan_links(harmonized_biospecimens(rows), bs_links, known, "biospecimen_id"),
                 plan_links(harmonized_experiments(joined), se_links, known,
                            "sequencing_experiment_id")):
        touched |= set(plan.loc[(plan["action"] == "create") & plan["genomic_file_id"].notna(),
                                "external_id"])
    return touched


def name_other_studies(client: DataServiceClient, records: list[dict], ours: set[str]) -> None:
    """Set ``owner_study_ids`` of each record: the studies of its foreign biospecimens, all
    looked up in one batch (rare: only files of another study have any)."""
    foreign = {record["kf_id"]: foreign_biospecimens(record["biospecimen_ids"], ours)
               for record in records}
    study_of = studies_of_biospecimens(client, [bs for ids in foreign.values() for bs in ids])
    for record in records:
        record["owner_study_ids"] = sorted({study_of[bs] for bs in foreign[record["kf_id"]]
                                            if study_of.get(bs)})


def claim_filepaths(context: AssetExecutionContext, ingest: IngestSettings,
                    filepaths: set[str]) -> pd.DataFrame:
    """This run's claim on its Filepaths (a real run; a dry run only reads the claims); the
    Filepaths a live run of another study claimed first (``CLAIM_COLUMNS``)."""
    try:
        outcome = object_claims.claim(context.instance, ingest.study_id, context.run_id,
                                      filepaths, dry_run=ingest.dry_run)
    except ConcurrentLoadError as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None
    conflicts = pd.DataFrame(
        [(filepath, other.study_id, other.run_id, other.since)
         for filepath, other in sorted(outcome.conflicts.items())], columns=CLAIM_COLUMNS)
    context.log.info(
        f"{'Claimed' if not ingest.dry_run else 'Would claim'} "
        f"{outcome.claimed if not ingest.dry_run else len(filepaths) - len(conflicts)} "
        f"Filepath(s) for {ingest.study_id} ({outcome.where}); "
        f"{outcome.live_claims} live claim(s) of other studies")
    for (study, run), group in conflicts.groupby(["claim_study_id", "claim_run_id"]):
        context.log.warning(
            f"{len(group)} Filepath(s) of this manifest are claimed by {study}'s run {run}, "
            f"loading now (e.g. {group['filepath'].iloc[0]}): this run never touches them")
    return conflicts


@asset(partitions_def=STUDY_PARTITIONS, group_name="plans", compute_kind="dataservice")
def existing_harmonized_files(context: AssetExecutionContext, ingest: IngestSettings,
                              dataservice: DataServiceResource, indexd: IndexdResource,
                              gwo_manifest: GwoManifest,
                              harmonized_file_s3_metadata: pd.DataFrame,
                              harmonized_file_sources: HarmonizedFileSources,
                              study_genomic_files: pd.DataFrame, study_biospecimens: pd.DataFrame,
                              study_biospecimen_genomic_files: pd.DataFrame,
                              study_sequencing_experiment_genomic_files: pd.DataFrame,
                              ) -> pd.DataFrame:
    """DataService genomic files whose external_id is a manifest Filepath, with their owner.

    The study read cannot see a file without a biospecimen link (another loader's,
    or an interrupted run's), so every manifest file it did not return is looked up
    by external_id, concurrently, and each record found is classified by all of its
    biospecimen links (``core/existing_files.py``): nobody's or this study's is
    reused; another study's is never touched. A file the study read did return is
    looked up the same way when this run would PATCH or link it (it may also be
    another study's, or share its external_id with another record); an unchanged
    file costs nothing. With an indexd configured (``resources/indexd.py``), an unseen
    file whose URL indexd holds no record of is proven unregistered by that indexed
    read, and not scanned.

    First of all, before any look-up, a real run claims its Filepaths on the Dagster
    instance (``resources/object_claims.py``): a Filepath a live run of another study
    claimed first is ``claimed`` (never touched, reported with that study and run),
    so two studies naming one S3 object never both register or link it. A dry run
    reads the claims without recording one.
    """
    wanted = set(gwo_manifest.filepaths)
    conflicts = claim_filepaths(context, ingest, wanted)
    links = study_biospecimen_genomic_files.groupby("genomic_file_id")["biospecimen_id"].agg(
        lambda ids: sorted(set(ids.dropna())))
    seen = study_genomic_files[study_genomic_files["external_id"].isin(wanted)].copy()
    seen["found_by"] = "study_read"
    seen["biospecimen_ids"] = [links.get(kf_id, []) for kf_id in seen["kf_id"]]
    seen["owner"] = OWNER_THIS_STUDY
    seen["owner_study_ids"] = [[] for _ in range(len(seen))]
    unseen = sorted(wanted - set(seen["external_id"]))
    touched = sorted(files_this_run_would_touch(
        ingest, gwo_manifest, harmonized_file_s3_metadata, harmonized_file_sources, seen,
        study_biospecimen_genomic_files, study_sequencing_experiment_genomic_files))
    lookups = [] if ingest.unsafe_skip_external_id_lookups else unseen + touched
    ours = set(study_biospecimens["kf_id"].dropna())
    client = dataservice.get_client()
    indexd_client = indexd.get_client()
    unregistered: list[str] = []  # unseen files indexd proved absent: no scan
    progress = Progress(context.log, "GET /genomic-files?external_id= (files not seen by study)"
                        + (" after indexd's ?url=" if indexd_client else ""),
                        len(lookups), unit="lookups")
    unseen_set = set(unseen)
    scan_ms: list[float] = []  # what each external_id scan cost, reported while it runs
    scans_lock, advised = threading.Lock(), []

    def report_scan(milliseconds: float) -> None:
        with scans_lock:
            scan_ms.append(milliseconds)
            if advised or not is_checkpoint(len(scan_ms)):
                return
            advice = slow_lookup_advice(scan_ms, len(lookups) - progress.done,
                                        dataservice.max_concurrency,
                                        indexd_configured=indexd_client is not None)
            if advice:
                advised.append(advice)
        if advice:
            context.log.warning(advice)

    def lookup(filepath: str) -> list[dict]:
        if (indexd_client is not None and filepath in unseen_set
                and url_is_unregistered(indexd_client, filepath)):
            unregistered.append(filepath)
            progress.advance()
            return []
        sent = time.monotonic()
        found = client.list_all("/genomic-files", {"external_id": filepath})
        report_scan((time.monotonic() - sent) * 1000)
        for record in found:
            record["found_by"] = "external_id"
            record["biospecimen_ids"] = sorted({
                link["biospecimen_id"] for link in client.list_all(
                    "/biospecimen-genomic-files", {"genomic_file_id": record["kf_id"]})
                if link.get("biospecimen_id")})
            record["owner"] = owner_of(record["biospecimen_ids"], ours)
        progress.advance()
        return found

    results = client.map_concurrently(lookup, lookups)
    progress.finish()
    records = [record for found in results for record in found]
    name_other_studies(client, records, ours)
    found = pd.DataFrame.from_records(records)
    # A looked-up record's classification (all of its links) wins over the study read's.
    existing = pd.concat([found, seen], ignore_index=True) if len(found) else seen
    existing = existing.drop_duplicates("kf_id").reset_index(drop=True)
    existing = mark_claimed(existing, conflicts)
    owners = existing["owner"].value_counts()
    context.add_output_metadata({
        **frame_metadata(existing, ["kf_id", "external_id", "found_by", "owner", "created_at"]),
        "found_by_study_read": MetadataValue.int(len(seen)),
        "not_seen_by_study_read": MetadataValue.int(len(unseen)),
        "seen_and_to_be_written": MetadataValue.int(len(touched)),
        "external_id_lookups": MetadataValue.int(len(lookups) - len(unregistered)),
        "proved_unregistered_by_indexd": MetadataValue.int(len(unregistered)),
        "external_id_lookup_cost": MetadataValue.json(
            lookup_cost(scan_ms, 0, dataservice.max_concurrency)),
        "found_by_lookup": MetadataValue.int(len(found)),
        "reused_without_links": MetadataValue.int(int(owners.get(OWNER_NONE, 0))),
        "of_another_study": MetadataValue.int(int(owners.get(OWNER_OTHER_STUDY, 0))),
        "claimed_by_another_run": MetadataValue.int(len(conflicts)),
        "external_ids_held_twice": MetadataValue.int(len(duplicated_external_ids(existing))),
        "dataservice_requests": MetadataValue.json(client.request_counts()),
        "indexd_requests": MetadataValue.json(
            indexd_client.request_counts() if indexd_client else {}),
    })
    if ingest.unsafe_skip_external_id_lookups and unseen:
        context.log.warning(
            f"unsafe_skip_external_id_lookups is on: {len(unseen)} manifest file(s) were not "
            "looked up by external_id; any of them already registered without a biospecimen "
            "link (or in another study) will be registered again")
    return existing


@study_check(asset=existing_harmonized_files, blocking=True,
             additional_ins={"gwo_manifest": AssetIn("gwo_manifest")},
             description="Every DataService file a manifest Filepath names is this study's or "
                         "nobody's, no Filepath is registered twice, and none is claimed by a "
                         "live run of another study: such files are never touched.")
def existing_files_are_reusable(context: AssetCheckExecutionContext, ingest: IngestSettings,
                                existing_harmonized_files: pd.DataFrame,
                                gwo_manifest: GwoManifest):
    issues = existing_file_issues(gwo_manifest.rows, existing_harmonized_files, ingest.study_id)
    return issues_check_result(context, issues, report_dir=ingest.report_dir,
                               skip_invalid_rows=ingest.skip_invalid_rows,
                               what="Existing DataService files", dry_run=ingest.dry_run)


@asset(partitions_def=STUDY_PARTITIONS, group_name="plans", compute_kind="pandas")
def genomic_files_plan(context: AssetExecutionContext, ingest: IngestSettings,
                       gwo_manifest: GwoManifest, harmonized_file_s3_metadata: pd.DataFrame,
                       harmonized_file_sources: HarmonizedFileSources,
                       existing_harmonized_files: pd.DataFrame) -> pd.DataFrame:
    """Per harmonized file: create / update / unchanged, with the body to send."""
    skipped = invalid_filepaths(gwo_manifest, harmonized_file_s3_metadata, harmonized_file_sources,
                                existing_harmonized_files, ingest.study_id)
    _, _, desired = desired_files(gwo_manifest, harmonized_file_s3_metadata,
                                  harmonized_file_sources, skipped)
    plan = plan_genomic_files(desired, reusable(existing_harmonized_files)).merge(
        desired[["external_id", "payload"]].rename(columns={"payload": "desired"}),
        on="external_id", how="left")
    context.add_output_metadata(plan_metadata(
        plan, ["external_id", "action", "kf_id", "changed_fields"], len(skipped)))
    return plan


@study_check(asset=genomic_files_plan, blocking=True,
             additional_ins={"harmonized_file_sources": AssetIn("harmonized_file_sources")},
             description="No planned file is more open (controlled_access, authz, acl) than "
                         "any of its source files.")
def no_file_more_open_than_sources(context: AssetCheckExecutionContext, ingest: IngestSettings,
                                   genomic_files_plan: pd.DataFrame,
                                   harmonized_file_sources: HarmonizedFileSources):
    issues = more_open_than_sources(genomic_files_plan, harmonized_file_sources.joined)
    return issues_check_result(context, issues, report_dir=ingest.report_dir,
                               what="Access control", dry_run=ingest.dry_run)


@study_check(asset=genomic_files_plan, blocking=False,
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


@asset(partitions_def=STUDY_PARTITIONS, group_name="plans", compute_kind="pandas")
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


@asset(partitions_def=STUDY_PARTITIONS, group_name="plans", compute_kind="pandas")
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

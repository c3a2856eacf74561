"""Plan and apply: the plan a dry run records, and the real run held to an approved plan.

``ingest_plan`` (every run) is the exact list of writes with the manifest's sha256 and a
short plan id (``core/plan_id.py``); it is recorded with the Dagster instance, tagged on
the run (``gwo/plan``) and shown with the command and the Launchpad config that apply
exactly it. ``plan_is_approved`` is a blocking check on the last plan, so it runs before
the first write on every path (``gwo ingest``, the Launchpad, ``dg launch``): given
``ingest.approved_plan``, the run writes only if its fresh plan has that id, otherwise
nothing, naming what changed. ``plan_applied`` (after the writes) checks every planned
write was done; ``ingest_report`` waits for it, and in a dry run (no load step yields
anything, so it is skipped) runs right after the plan.
"""

import copy
from typing import Any

import pandas as pd
import yaml
from dagster import (AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity,
                     AssetExecutionContext, AssetIn, MetadataValue, asset)

from gwo_assets.assets.manifest import GwoManifest
from gwo_assets.assets.plans import experiment_links_plan
from gwo_assets.assets.step_helpers.artifacts import run_dir, write_json
from gwo_assets.assets.step_helpers.check_results import BLOCKS_REAL_RUN, issues_check_result
from gwo_assets.core.plan_id import (LINK_TARGETS, canonical_plan, plan_counts,
                                     plan_differences, plan_id, summarize_differences)
from gwo_assets.partitions import STUDY_PARTITIONS, study_check
from gwo_assets.resources.dataservice_client import public_url
from gwo_assets.resources.plan_store import record_plan, recorded_plan
from gwo_assets.resources.run_settings import IngestSettings

PLAN_TAG = "gwo/plan"


def this_plan(ingest: IngestSettings, manifest: GwoManifest, files: pd.DataFrame,
              bs_links: pd.DataFrame, se_links: pd.DataFrame) -> tuple[dict[str, Any], str]:
    plan = canonical_plan(ingest.study_id, manifest.sha256, files, bs_links, se_links)
    return plan, plan_id(plan)


def apply_run_config(run_config: dict[str, Any], plan: str) -> dict[str, Any]:
    """The run's own config, made a real run held to ``plan`` (no token: env only)."""
    config = copy.deepcopy(run_config or {})
    resources = config.setdefault("resources", {})
    ingest = resources.setdefault("ingest", {}).setdefault("config", {})
    ingest.update({"dry_run": False, "approved_plan": plan})
    ingest.pop("lookup_all_unseen_files", None)
    (resources.get("dataservice") or {}).get("config", {}).pop("token", None)
    return {"resources": resources}


def apply_command(run_config: dict[str, Any], study_id: str, plan: str) -> str:
    resources = (run_config or {}).get("resources", {})
    ingest = (resources.get("ingest") or {}).get("config", {})
    options = [("--dataservice-url", public_url((resources.get("dataservice") or {})
                                                .get("config", {}).get("url") or "")),
               ("--s3-endpoint-url", (resources.get("s3") or {}).get("config", {})
                .get("endpoint_url")),
               ("--report-dir", ingest.get("report_dir"))]
    return (f"gwo ingest {study_id} {ingest.get('manifest', 'MANIFEST')} --write --plan {plan}"
            + "".join(f" {flag} {value}" for flag, value in options if value))


@asset(partitions_def=STUDY_PARTITIONS, group_name="plans", compute_kind="pandas")
def ingest_plan(context: AssetExecutionContext, ingest: IngestSettings, gwo_manifest: GwoManifest,
                genomic_files_plan: pd.DataFrame, biospecimen_links_plan: pd.DataFrame,
                experiment_links_plan: pd.DataFrame) -> dict:
    """The exact writes of this run (creates with their bodies, updates, links) and the
    manifest's sha256, with the plan id that applies exactly them."""
    plan, plan_key = this_plan(ingest, gwo_manifest, genomic_files_plan, biospecimen_links_plan,
                               experiment_links_plan)
    record_plan(context.instance, plan_key, plan)
    context.instance.add_run_tags(context.run_id, {PLAN_TAG: plan_key})
    path = write_json(run_dir(ingest.report_dir, context.run_id) / "plan.json", plan)
    run = context.instance.get_run_by_id(context.run_id)
    run_config = run.run_config if run is not None else {}
    counts = plan_counts(plan)
    command = apply_command(run_config, ingest.study_id, plan_key)
    launchpad = yaml.safe_dump(apply_run_config(run_config, plan_key), sort_keys=False)
    context.log.info(f"Plan {plan_key}: {len(plan['writes'])} write(s) "
                     f"({'; '.join(f'{e}: {c}' for e, c in counts.items())}), manifest sha256 "
                     f"{gwo_manifest.sha256[:12]}...")
    context.add_output_metadata({
        "plan_id": MetadataValue.text(plan_key),
        "manifest_sha256": MetadataValue.text(gwo_manifest.sha256),
        "writes": MetadataValue.int(len(plan["writes"])),
        "writes_by_endpoint": MetadataValue.json(counts),
        "apply_command": MetadataValue.text(command),
        "apply_launchpad_config": MetadataValue.md(f"```yaml\n{launchpad}```"),
        "plan_json": MetadataValue.path(str(path)),
        "dry_run": MetadataValue.bool(ingest.dry_run),
    })
    return plan


@study_check(asset=experiment_links_plan, blocking=True,
             additional_ins={name: AssetIn(name) for name in (
                 "gwo_manifest", "genomic_files_plan", "biospecimen_links_plan")},
             description="Given ingest.approved_plan, this run's fresh plan is exactly the "
                         "approved one (same manifest bytes, same writes with the same bodies): "
                         "otherwise nothing is written and the difference is named.")
def plan_is_approved(context: AssetCheckExecutionContext, ingest: IngestSettings,
                     experiment_links_plan: pd.DataFrame, gwo_manifest: GwoManifest,
                     genomic_files_plan: pd.DataFrame, biospecimen_links_plan: pd.DataFrame):
    plan, plan_key = this_plan(ingest, gwo_manifest, genomic_files_plan, biospecimen_links_plan,
                               experiment_links_plan)
    approved = ingest.approved_plan
    metadata = {"plan_id": MetadataValue.text(plan_key),
                "approved_plan": MetadataValue.text(approved or "(none)"),
                "manifest_sha256": MetadataValue.text(gwo_manifest.sha256)}
    if not approved:
        how = "a dry run" if ingest.dry_run else "no approved plan given, so this run writes it"
        return AssetCheckResult(passed=True, metadata={**metadata,
                                                       BLOCKS_REAL_RUN: MetadataValue.bool(False)},
                                description=f"Plan {plan_key} ({how})")
    if approved == plan_key:
        return AssetCheckResult(passed=True, metadata={**metadata,
                                                       BLOCKS_REAL_RUN: MetadataValue.bool(False)},
                                description=f"Plan {plan_key} is the approved plan")
    recorded = recorded_plan(context.instance, approved)
    if recorded is None:
        lines = [f"the approved plan {approved} is not recorded on this Dagster instance (its dry "
                 "run ran on another instance, or never), so only the ids can be compared"]
        differences = [{"source": "other", "message": lines[0]}]
    else:
        differences = plan_differences(recorded, plan)
        lines = summarize_differences(differences) or ["the plans differ"]
    summary = (f"This run's plan {plan_key} is not the approved plan {approved}: "
               + " | ".join(lines))
    verdict = ("a real run given this plan id would write nothing" if ingest.dry_run else
               "nothing is written; review a new dry run and apply its plan id")
    context.log.error(f"{summary}. {verdict}")
    return AssetCheckResult(
        passed=False, severity=AssetCheckSeverity.WARN if ingest.dry_run else AssetCheckSeverity.ERROR,
        description=f"{summary}; {verdict}",
        metadata={**metadata, BLOCKS_REAL_RUN: MetadataValue.bool(True),
                  "errors": MetadataValue.int(len(differences)),
                  "differences": MetadataValue.json(differences[:200]),
                  "difference_count": MetadataValue.int(len(differences))})


@study_check(asset=ingest_plan, blocking=True,
             additional_ins={name: AssetIn(name) for name in (
                 "genomic_files", "biospecimen_genomic_files",
                 "sequencing_experiment_genomic_files")},
             description="After the writes: every write of the plan was done (a real run; a "
                         "dry run loads nothing, so this check does not run).")
def plan_applied(context: AssetCheckExecutionContext, ingest: IngestSettings, ingest_plan: dict,
                 genomic_files: pd.DataFrame, biospecimen_genomic_files: pd.DataFrame,
                 sequencing_experiment_genomic_files: pd.DataFrame):
    results = {"genomic_files": genomic_files, "biospecimen_genomic_files": biospecimen_genomic_files,
               "sequencing_experiment_genomic_files": sequencing_experiment_genomic_files}
    done = set()
    for endpoint, frame in results.items():
        rows = frame[frame["status"] == "done"]
        target = LINK_TARGETS.get(endpoint)
        done |= {(endpoint, external_id, target_id or "") for external_id, target_id in zip(
            rows["external_id"], rows[target] if target else [""] * len(rows))}
    missing = [w for w in ingest_plan["writes"]
               if (w["endpoint"], w["external_id"],
                   w.get(LINK_TARGETS.get(w["endpoint"], ""), "") or "") not in done]
    issues = pd.DataFrame([{
        "check": "planned_write_not_done", "row": None, "column": w["endpoint"],
        "value": w["external_id"], "expected": f"{w['action']} done",
        "suggestion": "rerun: the plan is made again against the DataService as it is now",
        "severity": "error"} for w in missing])
    return issues_check_result(context, issues, report_dir=ingest.report_dir,
                               what=f"Plan {plan_id(ingest_plan)} applied", dry_run=ingest.dry_run)

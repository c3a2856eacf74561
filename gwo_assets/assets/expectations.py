"""great-expectations 1.x suites on the normalized manifest and on each planned payload table.

Each suite runs in an ephemeral GX context inside a blocking asset check (GX is
imported lazily: it costs seconds). Unexpected rows come back as the same
issues table the other checks use, so they show in the check metadata and report.
"""

from collections.abc import Callable
from typing import Any

import pandas as pd
from dagster import AssetCheckExecutionContext

from gwo_assets.partitions import study_check
from gwo_assets.assets.step_helpers.check_results import ISSUE_COLUMNS, issues_check_result
from gwo_assets.assets.manifest import GwoManifest, gwo_manifest
from gwo_assets.assets.plans import biospecimen_links_plan, experiment_links_plan, genomic_files_plan
from gwo_assets.core import enums
from gwo_assets.resources.run_settings import IngestSettings

KF = "[0-9A-HJKMNP-TV-Z]{8}"
S3_URI = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/\S.*$"


def run_suite(name: str, frame: pd.DataFrame, build: Callable[[Any], list],
              index_column: str) -> pd.DataFrame:
    """Validate ``frame`` with the expectations ``build(gx.expectations)`` returns -> issues."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (context.data_sources.add_pandas(name).add_dataframe_asset(name)
                        .add_batch_definition_whole_dataframe("all"))
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=build(gx.expectations)))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.reset_index(drop=True)})
    result = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": [index_column]})
    issues = []
    for outcome in result.results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", []))
        unexpected = outcome.result.get("unexpected_index_list") or [{}]
        for item in unexpected:
            issues.append({
                "check": f"gx:{config.type}", "row": item.get("row"),
                "column": column,
                "value": item.get(column, item.get(index_column, outcome.result.get("observed_value"))),
                "expected": _describe(config.kwargs),
                "suggestion": f"great-expectations suite '{name}'", "severity": "error"})
    return pd.DataFrame(issues, columns=ISSUE_COLUMNS)


def _describe(kwargs: dict) -> str:
    shown = {k: v for k, v in kwargs.items() if k not in ("column", "column_list", "batch_id")}
    if "value_set" in shown and len(shown["value_set"]) > 8:
        shown["value_set"] = f"{len(shown['value_set'])} allowed values"
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "expectation met"


def manifest_expectations(e: Any) -> list:
    return [
        *[e.ExpectColumnValuesToNotBeNull(column=c) for c in
          ("filepath", "biospecimen_id", "participant_id", "data_type", "workflow_type")],
        e.ExpectColumnValuesToMatchRegex(column="filepath", regex=S3_URI),
        e.ExpectColumnValuesToMatchRegex(column="source_read", regex=S3_URI, mostly=1.0),
        e.ExpectColumnValuesToMatchRegex(column="biospecimen_id", regex=f"^BS_{KF}$"),
        e.ExpectColumnValuesToMatchRegex(column="participant_id", regex=f"^PT_{KF}$"),
        e.ExpectColumnValuesToBeInSet(column="data_type", value_set=sorted(enums.DATA_TYPES)),
        e.ExpectColumnValuesToBeInSet(column="workflow_type", value_set=sorted(enums.WORKFLOW_TYPES)),
        e.ExpectCompoundColumnsToBeUnique(column_list=["filepath", "source_read", "biospecimen_id"]),
    ]


BODY_FIELDS = ("urls", "size", "hashes", "data_type", "workflow_type", "availability",
               "is_harmonized", "controlled_access", "file_format")


def payload_table(plan: pd.DataFrame) -> pd.DataFrame:
    """The desired genomic-file bodies as columns (one row per file) for GX."""
    bodies = pd.DataFrame.from_records(plan["desired"].tolist(), index=plan.index)
    for field in BODY_FIELDS:  # an empty plan (every file left out) has no body columns
        if field not in bodies:
            bodies[field] = pd.Series(dtype=object, index=plan.index)
    hashes = bodies["hashes"].map(lambda h: h if isinstance(h, dict) else {})
    return pd.DataFrame({
        "row": plan["row"], "external_id": plan["external_id"],
        "url": bodies["urls"].map(lambda u: u[0] if isinstance(u, list) and len(u) == 1 else None),
        "size": bodies.get("size"), "md5": hashes.map(lambda h: h.get("md5")),
        "etag": hashes.map(lambda h: h.get("etag")), "hash_count": hashes.map(len),
        "data_type": bodies["data_type"], "workflow_type": bodies["workflow_type"],
        "availability": bodies.get("availability"), "is_harmonized": bodies["is_harmonized"],
        "controlled_access": bodies["controlled_access"], "file_format": bodies["file_format"],
    })


def genomic_file_expectations(e: Any) -> list:
    return [
        e.ExpectColumnValuesToBeUnique(column="external_id"),
        e.ExpectColumnValuesToMatchRegex(column="external_id", regex=S3_URI),
        e.ExpectColumnPairValuesToBeEqual(column_A="external_id", column_B="url"),
        e.ExpectColumnValuesToNotBeNull(column="size"),
        e.ExpectColumnValuesToBeBetween(column="size", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="hash_count", min_value=1),
        e.ExpectColumnValuesToMatchRegex(column="md5", regex="^[0-9a-f]{32}$"),
        e.ExpectColumnValuesToMatchRegex(column="etag", regex="^[0-9a-f]{32}(?:-[0-9]+)?$"),
        e.ExpectColumnValuesToBeInSet(column="data_type", value_set=sorted(enums.DATA_TYPES)),
        e.ExpectColumnValuesToBeInSet(column="workflow_type", value_set=sorted(enums.WORKFLOW_TYPES)),
        e.ExpectColumnValuesToBeInSet(column="availability", value_set=sorted(enums.AVAILABILITY)),
        e.ExpectColumnValuesToBeInSet(column="is_harmonized", value_set=[True]),
        e.ExpectColumnValuesToNotBeNull(column="controlled_access"),
        e.ExpectColumnValuesToNotBeNull(column="file_format"),
    ]


def link_expectations(target: str, prefix: str) -> Callable[[Any], list]:
    def build(e: Any) -> list:
        return [
            e.ExpectColumnValuesToNotBeNull(column="external_id"),
            e.ExpectColumnValuesToMatchRegex(column="genomic_file_id", regex=f"^GF_{KF}$"),
            e.ExpectColumnValuesToNotBeNull(column=target),
            e.ExpectColumnValuesToMatchRegex(column=target, regex=f"^{prefix}_{KF}$"),
            e.ExpectCompoundColumnsToBeUnique(column_list=["external_id", target]),
        ]
    return build


@study_check(asset=gwo_manifest, blocking=True,
             description="great-expectations suite on the manifest rows the rules accepted: an "
                         "independent second opinion, so it never skips rows, it stops the run.")
def manifest_expectation_suite(context: AssetCheckExecutionContext, ingest: IngestSettings,
                               gwo_manifest: GwoManifest):
    issues = gwo_manifest.issues
    rejected = set(issues.loc[issues["severity"] == "error", "row"].dropna().astype(int))
    accepted = gwo_manifest.rows[~gwo_manifest.rows["row"].astype(int).isin(rejected)]
    issues = run_suite("gwo_manifest", accepted, manifest_expectations, "row")
    return issues_check_result(context, issues, report_dir=ingest.report_dir,
                               what="Manifest expectations (GX)", dry_run=ingest.dry_run)


@study_check(asset=genomic_files_plan, blocking=True,
             description="great-expectations suite on the planned genomic-file bodies.")
def genomic_file_payload_suite(context: AssetCheckExecutionContext, ingest: IngestSettings,
                               genomic_files_plan: pd.DataFrame):
    issues = run_suite("genomic_files_plan", payload_table(genomic_files_plan),
                       genomic_file_expectations, "row")
    return issues_check_result(context, issues, report_dir=ingest.report_dir,
                               what="Genomic file payloads (GX)", dry_run=ingest.dry_run)


def link_suite_result(context: AssetCheckExecutionContext, ingest: IngestSettings,
                      plan: pd.DataFrame, target: str, prefix: str, what: str):
    """Run the link suite on a link plan. Files still to be created have no kf_id yet, and
    the regex expectations skip nulls, so only ids that exist are checked."""
    table = plan[["external_id", "genomic_file_id", target]].copy()
    table["row"] = range(len(table))
    issues = run_suite(f"{target}_links_plan", table, link_expectations(target, prefix), "row")
    return issues_check_result(context, issues, report_dir=ingest.report_dir, what=what,
                               dry_run=ingest.dry_run)


@study_check(asset=biospecimen_links_plan, blocking=True,
             description="great-expectations suite on the planned biospecimen links.")
def biospecimen_link_payload_suite(context: AssetCheckExecutionContext, ingest: IngestSettings,
                                   biospecimen_links_plan: pd.DataFrame):
    return link_suite_result(context, ingest, biospecimen_links_plan, "biospecimen_id", "BS",
                             "Biospecimen link payloads (GX)")


@study_check(asset=experiment_links_plan, blocking=True,
             description="great-expectations suite on the planned sequencing-experiment links.")
def experiment_link_payload_suite(context: AssetCheckExecutionContext, ingest: IngestSettings,
                                  experiment_links_plan: pd.DataFrame):
    return link_suite_result(context, ingest, experiment_links_plan, "sequencing_experiment_id",
                             "SE", "Experiment link payloads (GX)")


EXPECTATION_CHECKS = [manifest_expectation_suite, genomic_file_payload_suite,
                      biospecimen_link_payload_suite, experiment_link_payload_suite]

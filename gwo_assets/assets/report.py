"""The run report: report.json, report.md and CSVs under ``report_dir/<run_id>/``.

Built from the run's own event log (materialization metadata, check evaluations,
step failures) plus the load results saved by the load steps, so the same code
serves a finished run (the ``ingest_report`` asset) and a run stopped by a
blocking check or an error (the job's failure hook).

A dry run evaluates every check (a failing one returns WARN, see
``step_helpers/check_results.py``): ``ingest_report`` lists all their problems grouped by
class, then fails the run when any of them would have stopped a real run. The failure
hook records the report as a materialization of ``ingest_report`` too, so a failed run's
report shows on the asset's page in the UI, not only in a log line.
"""

from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (AssetExecutionContext, AssetMaterialization, DagsterEventType, DagsterInstance,
                     Failure, HookContext, MetadataValue, asset, failure_hook)

from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.assets.step_helpers.artifacts import read_jsonl, run_dir, write_json
from gwo_assets.assets.approval import ingest_plan
from gwo_assets.assets.step_helpers.check_results import BLOCKS_REAL_RUN
from gwo_assets.assets.step_helpers.metadata import markdown_table, md_cell
from gwo_assets.assets.step_helpers.problems import check_class, grouped_problems
from gwo_assets.resources import study_lock
from gwo_assets.resources.dataservice import DataServiceResource, public_url
from gwo_assets.resources.run_settings import IngestSettings

LOAD_STEPS = ("genomic_files", "biospecimen_genomic_files", "sequencing_experiment_genomic_files")
INLINE_ROWS = 50


def _events(instance: DagsterInstance, run_id: str, event_type: DagsterEventType) -> list:
    records = instance.get_records_for_run(run_id, of_type=event_type).records
    return [record.event_log_entry.dagster_event for record in records]


def _metadata_values(metadata: dict[str, Any]) -> dict[str, Any]:
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


RESULT_FIELDS = ("status", "action", "kf_id", "previous")  # what the report uses of each row


def _load_results(folder: Path, name: str) -> pd.DataFrame | None:
    rows = read_jsonl(folder / f"{name}.jsonl", RESULT_FIELDS)
    return pd.DataFrame(rows, columns=list(RESULT_FIELDS), dtype=object) if rows else None


def step_counts(results: pd.DataFrame | None, dry_run: bool) -> dict[str, int]:
    """create/update/unchanged/failed: planned in a dry run, done in a real run."""
    if results is None:
        return {"create": 0, "update": 0, "unchanged": 0, "failed": 0}
    counted = results["status"] == ("planned" if dry_run else "done")
    actions = results.loc[counted, "action"].value_counts()
    return {"create": int(actions.get("create", 0)), "update": int(actions.get("update", 0)),
            "unchanged": int((results["action"] == "unchanged").sum()),
            "failed": int((results["status"] == "failed").sum())}


def written_ids(results: pd.DataFrame | None) -> dict[str, list]:
    """kf_ids created, and updated ones with their previous values (for undo)."""
    if results is None:
        return {"created": [], "updated": []}
    done = results[results["status"] == "done"]
    created = done.loc[done["action"] == "create", "kf_id"].tolist()
    updated = done[done["action"] == "update"]
    previous = updated["previous"] if "previous" in updated else [None] * len(updated)
    return {"created": created,
            "updated": [{"kf_id": k, "previous": p} for k, p in zip(updated["kf_id"], previous)]}


def build_report(instance: DagsterInstance, run_id: str, ingest: IngestSettings,
                 dataservice_url: str, failed: bool) -> dict[str, Any]:
    folder = run_dir(ingest.report_dir, run_id)
    materialized = {}
    for event in _events(instance, run_id, DagsterEventType.ASSET_MATERIALIZATION):
        mat = event.event_specific_data.materialization
        materialized[mat.asset_key.to_user_string()] = _metadata_values(mat.metadata)
    checks = []
    approval: dict[str, Any] = {}
    for event in _events(instance, run_id, DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = event.event_specific_data
        meta = _metadata_values(evaluation.metadata)
        if evaluation.check_name == "plan_is_approved":
            approval = meta
        # a dry run's failures are WARN, but say whether they would have stopped a real run
        blocks = meta.get(BLOCKS_REAL_RUN, not evaluation.passed and evaluation.blocking
                          and evaluation.severity.value == "ERROR")
        checks.append({
            "name": evaluation.check_name, "asset": evaluation.asset_key.to_user_string(),
            "step": event.step_key, "class": check_class(evaluation.check_name),
            "passed": evaluation.passed, "severity": evaluation.severity.value,
            "blocking": bool(evaluation.blocking),
            "blocks_real_run": bool(blocks) and not evaluation.passed,
            "description": evaluation.description,
            "errors": meta.get("errors"), "warnings": meta.get("warnings"),
            "offending_rows_csv": meta.get("all_rows_csv"),
        })
    stopping = [check for check in checks if check["blocks_real_run"]]
    errors = []
    for event in _events(instance, run_id, DagsterEventType.STEP_FAILURE):
        data = event.event_specific_data
        reason = data.user_failure_data.description if data.user_failure_data else None
        errors.append({"step": event.step_key,
                       "message": reason or (data.error.message.strip() if data.error else "")})
    results = {name: _load_results(folder, name) for name in LOAD_STEPS}
    manifest_meta = materialized.get("gwo_manifest", {})
    failed_steps = {error["step"] for error in errors}
    # asset -> the step that materializes it (one step can hold several: study_tables)
    planned = {event.event_specific_data.asset_key.to_user_string(): event.step_key for event in
               _events(instance, run_id, DagsterEventType.ASSET_MATERIALIZATION_PLANNED)}
    step_status = {key: "materialized" if key in materialized
                   else "failed" if step in failed_steps
                   else "dry run: not loaded" if ingest.dry_run and key in LOAD_STEPS
                   else "not executed"
                   for key, step in planned.items()}
    return {
        "run_id": run_id,
        "study_id": ingest.study_id,
        "dry_run": ingest.dry_run,
        "status": "failed" if failed or errors or stopping else "success",
        "stopped_at": errors[0]["step"] if errors else None,
        # the first check that stops (or, in a dry run, would stop) a real run: nothing written
        "real_run_stops_at": stopping[0]["step"] if stopping else None,
        "blocking_problems": [{"check": c["name"], "class": c["class"], "errors": c["errors"]}
                              for c in stopping],
        "problems": grouped_problems(checks),
        "inputs": {"study_id": ingest.study_id, "manifest": ingest.manifest,
                   "manifest_sha256": manifest_meta.get("sha256"),
                   "dataservice_url": dataservice_url, "dry_run": ingest.dry_run,
                   "skip_invalid_rows": ingest.skip_invalid_rows,
                   "gwo_assets_version": version("gwo_assets")},
        "steps": {name: step_counts(results[name], ingest.dry_run) for name in LOAD_STEPS},
        "step_status": step_status,
        "assets": {key: {k: v for k, v in meta.items() if isinstance(v, (int, float, bool, str))
                         and k not in ("preview",)} for key, meta in materialized.items()},
        "checks": checks,
        "kf_ids": {name: written_ids(results[name]) for name in LOAD_STEPS},
        "plan": plan_section(materialized.get("ingest_plan", {}), approval),
        "errors": errors,
        "folder": str(folder),
    }


def plan_section(recorded: dict[str, Any], approval: dict[str, Any]) -> dict[str, Any]:
    """The run's plan id (from ``ingest_plan``, else from ``plan_is_approved``), how to apply
    exactly it, and, given an approved plan, whether this run's plan matched it."""
    config = str(recorded.get("apply_launchpad_config") or "")
    config = config.removeprefix("```yaml\n").removesuffix("```")
    approved = approval.get("approved_plan")
    return {"plan_id": recorded.get("plan_id") or approval.get("plan_id"),
            "manifest_sha256": recorded.get("manifest_sha256") or approval.get("manifest_sha256"),
            "writes": recorded.get("writes"),
            "approved_plan": None if approved in (None, "(none)") else approved,
            "matches_approved": None if approved in (None, "(none)")
            else approved == approval.get("plan_id"),
            "differences": approval.get("differences") or [],
            "apply_command": recorded.get("apply_command"),
            "apply_launchpad_config": config or None}


def _plan_markdown(report: dict[str, Any]) -> list[str]:
    plan = report.get("plan") or {}
    if not plan.get("plan_id"):
        return []
    lines = ["## Plan", "", f"Plan id `{plan['plan_id']}`: manifest sha256 "
             f"`{plan['manifest_sha256']}`, {plan.get('writes', '?')} write(s) "
             "(every create with its body, every update, every link).", ""]
    if plan.get("approved_plan"):
        if plan["matches_approved"]:
            lines += [f"The approved plan `{plan['approved_plan']}`: this run's plan is exactly it.", ""]
        else:
            lines += [f"**This run's plan is not the approved plan `{plan['approved_plan']}`**; "
                      "nothing was written. What changed:", ""]
            lines += [f"- {d['source']}: {d['message']}" for d in plan["differences"][:50]] + [""]
    if report["dry_run"] and plan.get("apply_command") and report["status"] == "success":
        lines += ["To write exactly this plan (a real run that re-plans and writes nothing if "
                  "anything changed since):", "", "```bash", plan["apply_command"], "```", "",
                  "or in the Launchpad (*Jobs > ingest_gwo > Launchpad*, this study's partition):",
                  "", "```yaml", plan["apply_launchpad_config"].rstrip(), "```", ""]
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    mode = "dry run (nothing written)" if report["dry_run"] else "real run"
    lines = [f"# GWO ingest report: {report['status'].upper()}", "",
             f"Run `{report['run_id']}`, study `{report['study_id']}`, {mode}.", ""]
    verdict = report["dry_run"] and report["blocking_problems"]
    # ingest_report's own failure in such a dry run is the verdict: shown once
    errors = [e for e in report["errors"] if not (verdict and e["step"] == "ingest_report")]
    if verdict:
        lines += [f"**{dry_run_verdict(report)}**", ""]
    if errors:
        lines += [f"**Stopped at `{report['stopped_at']}`.**", ""]
        lines += [f"- `{e['step']}`: {e['message'].splitlines()[0] if e['message'] else ''}"
                  for e in errors] + [""]
    lines += _problems_markdown(report)
    lines += _plan_markdown(report)
    inputs = report["inputs"]
    lines += ["## Inputs", "", "| | |", "|---|---|"]
    lines += [f"| {key} | `{value}` |" for key, value in inputs.items()] + [""]
    verb = "planned" if report["dry_run"] else "done"
    lines += [f"## Writes ({verb})", "", "| endpoint | create | update | unchanged | failed |",
              "|---|---|---|---|---|"]
    for name, counts in report["steps"].items():
        lines.append(f"| {name} | {counts['create']} | {counts['update']} | "
                     f"{counts['unchanged']} | {counts['failed']} |")
    lines += ["", "## Checks", "", "| check | asset | result | severity | blocking |",
              "|---|---|---|---|---|"]
    for check in report["checks"]:
        result = "passed" if check["passed"] else "**FAILED**"
        lines.append(f"| {check['name']} | {check['asset']} | {result} | {check['severity']} | "
                     f"{'yes' if check['blocking'] else 'no'} |")
    for check in report["checks"]:
        if check["offending_rows_csv"]:
            lines += ["", f"### {check['name']}: {check['description'] or ''}", ""]
            lines += [_csv_head_markdown(Path(check["offending_rows_csv"])),
                      "", f"All rows: `{check['offending_rows_csv']}`"]
    lines += ["", "## Steps", "", "| asset | status | rows | counts |", "|---|---|---|---|"]
    for key, status in report["step_status"].items():
        meta = report["assets"].get(key, {})
        notes = ", ".join(f"{k}={v}" for k, v in meta.items()
                          if k not in ("dagster/row_count",) and not isinstance(v, str))
        lines.append(f"| {key} | {status} | {meta.get('dagster/row_count', '')} | {notes} |")
    lines += ["", "## Written kf_ids", ""]
    for name, ids in report["kf_ids"].items():
        lines.append(f"- {name}: {len(ids['created'])} created, {len(ids['updated'])} updated")
    lines += ["", f"Files: `{report['folder']}`"]
    return "\n".join(lines) + "\n"


def dry_run_verdict(report: dict[str, Any]) -> str:
    """One sentence: what the dry run found and what a real run would do with it."""
    blocking = report["blocking_problems"]
    errors = sum(int(check["errors"] or 0) for check in blocking)
    named = ", ".join(f"{c['check']} ({c['class']}, {c['errors']} error(s))" for c in blocking)
    return (f"Dry run found {errors} error(s) in {len(blocking)} check(s): {named}. A real run "
            f"would stop at {report['real_run_stops_at']} and write nothing; fix them and rerun.")


def _problems_markdown(report: dict[str, Any]) -> list[str]:
    """Every problem, grouped by class, with row, column, value and fix."""
    if not report["problems"]:
        return []
    lines = ["## Problems by class", ""]
    if report["real_run_stops_at"]:
        lines += [f"A real run stops at `{report['real_run_stops_at']}` and writes nothing.", ""]
    for group in report["problems"]:
        lines += [f"### {group['class']}: {group['errors']} error(s), {group['warnings']} "
                  f"warning(s) ({', '.join(group['checks'])})", "",
                  "| row | column | value | fix | expected | rule | check |",
                  "|---|---|---|---|---|---|---|"]
        for p in group["problems"][:INLINE_ROWS]:
            cells = [p["row"] if p["row"] is not None else "", p["column"], p["value"], p["fix"],
                     p["expected"], p["check"] + ("" if p["severity"] == "error" else " (warning)"),
                     p["dagster_check"]]
            lines.append("| " + " | ".join(md_cell(c, limit=None) for c in cells) + " |")
        more = group["errors"] + group["warnings"] - min(len(group["problems"]), INLINE_ROWS)
        if more > 0:
            lines.append(f"\n_and {more} more: see the checks' CSVs below_")
        lines.append("")
    return lines


def _csv_head_markdown(path: Path) -> str:
    if not path.exists():
        return "_(offending rows file missing)_"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=INLINE_ROWS)
    return markdown_table(frame, INLINE_ROWS)


def write_report(instance: DagsterInstance, run_id: str, ingest: IngestSettings,
                 dataservice_url: str, failed: bool) -> tuple[dict[str, Any], str]:
    report = build_report(instance, run_id, ingest, dataservice_url, failed)
    markdown = render_markdown(report)
    folder = Path(report["folder"])
    write_json(folder / "report.json", report)
    (folder / "report.md").write_text(markdown)
    return report, markdown


def summary_line(report: dict[str, Any]) -> str:
    verb = "dry run" if report["dry_run"] else "real run"
    parts = [f"{name}: {c['create']} create, {c['update']} update, {c['unchanged']} unchanged, "
             f"{c['failed']} failed" for name, c in report["steps"].items()]
    return (f"GWO ingest {report['status'].upper()} ({verb}) for {report['study_id']}. "
            + "; ".join(parts) + f". Report: {report['folder']}/report.md")


@asset(partitions_def=STUDY_PARTITIONS, group_name="report",
       deps=[ingest_plan])  # after plan_applied (a blocking check on it) when the loads ran
def ingest_report(context: AssetExecutionContext, ingest: IngestSettings,
                  dataservice: DataServiceResource) -> None:
    """report.json + report.md for this run; the markdown shows here in the UI."""
    study_lock.release(ingest.study_id, context.run_id)
    report, markdown = write_report(context.instance, context.run_id, ingest,
                                    public_url(dataservice.url), failed=False)
    if report["dry_run"] and report["blocking_problems"]:
        # Every check ran (WARN in a dry run); a real run would have stopped: fail the run.
        message = f"{dry_run_verdict(report)} Report: {report['folder']}/report.md"
        context.log.error(message)
        raise Failure(description=message, allow_retries=False, metadata={
            "blocking_checks": MetadataValue.json([c["check"] for c in report["blocking_problems"]]),
            "report_json": MetadataValue.path(str(Path(report["folder"]) / "report.json"))})
    context.log.info(summary_line(report))
    context.add_output_metadata({
        "report": MetadataValue.md(markdown),
        "report_json": MetadataValue.path(str(Path(report["folder"]) / "report.json")),
        "status": MetadataValue.text(report["status"]),
        "dry_run": MetadataValue.bool(report["dry_run"]),
        "plan_id": MetadataValue.text(str(report["plan"]["plan_id"])),
        **({"apply_command": MetadataValue.text(report["plan"]["apply_command"])}
           if report["dry_run"] and report["plan"]["apply_command"] else {}),
    })


@failure_hook(required_resource_keys={"ingest", "dataservice"})
def report_on_failure(context: HookContext) -> None:
    """Write the report when a step fails, naming where the run stopped and why, and record
    it as a materialization of ``ingest_report`` so the failed run's report shows in the UI."""
    study_lock.release(context.resources.ingest.study_id, context.run_id)
    report, markdown = write_report(context.instance, context.run_id, context.resources.ingest,
                                    public_url(context.resources.dataservice.url), failed=True)
    context.log.error(summary_line(report))
    try:
        record_failed_report(context.instance, context.run_id, report, markdown)
    except Exception as error:  # the report files are written; never hide them behind this
        context.log.warning(f"Could not record the report on ingest_report: {error}")


def record_failed_report(instance: DagsterInstance, run_id: str, report: dict[str, Any],
                         markdown: str) -> None:
    """The failed run's report as an ``ingest_report`` materialization (of the run's study
    partition when the run has one): the asset's page shows it like a finished run's."""
    run = instance.get_run_by_id(run_id)
    partition = run.tags.get("dagster/partition") if run else None
    instance.report_runless_asset_event(AssetMaterialization(
        asset_key="ingest_report", partition=partition,
        description=f"Report of failed run {run_id} (stopped at {report['stopped_at']})",
        metadata={
            "report": MetadataValue.md(markdown),
            "report_json": MetadataValue.path(str(Path(report["folder"]) / "report.json")),
            "status": MetadataValue.text(report["status"]),
            "dry_run": MetadataValue.bool(report["dry_run"]),
            "run": MetadataValue.dagster_run(run_id),
            "stopped_at": MetadataValue.text(str(report["stopped_at"])),
        }))

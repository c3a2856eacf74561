"""Turn an issues table (row, column, value, expected, suggestion) into a check result.

Every failing check carries the count, the first offending rows inline and all of
them in a CSV under the run's report folder, and logs at ERROR/WARNING level so a
CLI user sees it without reading Dagster's DEBUG events.

Severity: ERROR (blocks the steps after it) in a real run; WARN when rows are skipped
(``skip_invalid_rows``) or in a dry run, so that a dry run evaluates every check it can
and shows every problem at once. A dry run's failures still count as errors: the metadata
entry ``blocks_real_run`` says the check would have stopped a real run, and
``ingest_report`` fails the dry run at its end when any check says so.
"""

from pathlib import Path

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue

from gwo_assets.assets.step_helpers.artifacts import run_dir, write_csv
from gwo_assets.assets.step_helpers.metadata import markdown_table

ISSUE_COLUMNS = ["check", "row", "column", "value", "expected", "suggestion", "severity"]
INLINE_ROWS = 50
BLOCKS_REAL_RUN = "blocks_real_run"  # metadata: this failure would stop a real run
DRY_RUN_GOES_ON = ("dry run: the other checks run too (files with errors are left out) and "
                   "the run fails at its end; a real run would stop here and write nothing")


def empty_issues() -> pd.DataFrame:
    return pd.DataFrame(columns=ISSUE_COLUMNS)


def issue_lines(issues: pd.DataFrame, limit: int = 5) -> list[str]:
    """Human sentences for the first ``limit`` issues."""
    lines = []
    for issue in issues.head(limit).itertuples(index=False):
        where = f"row {issue.row}" if pd.notna(issue.row) else "file"
        text = f"{where}, column '{issue.column}': {issue.value!r} - expected {issue.expected}"
        if isinstance(issue.suggestion, str) and issue.suggestion:
            text += f"; {issue.suggestion}"
        lines.append(text)
    return lines


def issues_check_result(
    context: AssetCheckExecutionContext,
    issues: pd.DataFrame,
    *,
    report_dir: str,
    skip_invalid_rows: bool = False,
    what: str,
    extra_metadata: dict | None = None,
    blocked: str = "nothing will be written",
    dry_run: bool = False,
) -> AssetCheckResult:
    """Pass when ``issues`` has no error; else fail: ERROR, or WARN when rows are skipped
    (the rest loads) or in a dry run (the next checks run too; the run fails at its end)."""
    issues = issues.reindex(columns=ISSUE_COLUMNS)
    errors = issues[issues["severity"] == "error"]
    warnings = issues[issues["severity"] != "error"]
    blocks_real_run = not errors.empty and not skip_invalid_rows
    metadata = _issues_metadata(context, issues, report_dir, len(errors),
                                {**(extra_metadata or {}),
                                 BLOCKS_REAL_RUN: MetadataValue.bool(blocks_real_run)})
    for line in issue_lines(warnings):
        context.log.warning(f"{what}: {line}")
    if errors.empty:
        return AssetCheckResult(passed=True, metadata=metadata,
                                description=f"{what}: no errors ({len(warnings)} warnings)")
    log = context.log.warning if skip_invalid_rows else context.log.error
    summary = f"{what}: {len(errors)} error(s)"
    log(summary + "\n  " + "\n  ".join(issue_lines(errors, limit=10)))
    if skip_invalid_rows:
        return AssetCheckResult(
            passed=False, severity=AssetCheckSeverity.WARN, metadata=metadata,
            description=f"{summary}; skip_invalid_rows is on, so the affected files are skipped",
        )
    if dry_run:
        return AssetCheckResult(
            passed=False, severity=AssetCheckSeverity.WARN, metadata=metadata,
            description=f"{summary}; {DRY_RUN_GOES_ON}")
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR, metadata=metadata,
                            description=f"{summary}; {blocked}")


def warning_check_result(context: AssetCheckExecutionContext, issues: pd.DataFrame, *,
                         report_dir: str, what: str) -> AssetCheckResult:
    """A check that never stops the run: fails with WARN (yellow) when there is any issue."""
    issues = issues.reindex(columns=ISSUE_COLUMNS)
    metadata = _issues_metadata(context, issues, report_dir, 0, None)
    if issues.empty:
        return AssetCheckResult(passed=True, metadata=metadata, description=f"{what}: none")
    summary = f"{what}: {len(issues)} warning(s)"
    context.log.warning(summary + "\n  " + "\n  ".join(issue_lines(issues, limit=10)))
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, metadata=metadata,
                            description=summary)


def _issues_metadata(context: AssetCheckExecutionContext, issues: pd.DataFrame, report_dir: str,
                     errors: int, extra_metadata: dict | None) -> dict:
    """Counts, the first offending rows inline and all of them in a CSV (when there are any)."""
    metadata: dict = {
        "errors": MetadataValue.int(errors),
        "warnings": MetadataValue.int(len(issues) - errors),
        **(extra_metadata or {}),
    }
    if not issues.empty:
        csv_path = _write_issues(report_dir, context.run.run_id, context.check_specs[0].name, issues)
        metadata["offending_rows"] = MetadataValue.md(markdown_table(issues, INLINE_ROWS))
        metadata["all_rows_csv"] = MetadataValue.path(str(csv_path))
    return metadata


def _write_issues(report_dir: str, run_id: str, check_name: str, issues: pd.DataFrame) -> Path:
    return write_csv(run_dir(report_dir, run_id) / "checks" / f"{check_name}.csv", issues)

"""The problems a run's checks found, grouped by class for the report.

A dry run evaluates every check it can (a failing one returns WARN) and shows all their
problems at once; this module turns the run's failed checks into the report's
``problems`` section: per class (manifest format, DataService consistency, S3, access,
payload, ...) every offending row with its row, column, value, expected and fix, read
back from each check's CSV.
"""

from pathlib import Path
from typing import Any

import pandas as pd

# check name -> class, in the order the report lists the classes
CHECK_CLASSES: dict[str, str] = {
    "manifest_is_well_formed": "manifest format",
    "manifest_expectation_suite": "manifest format",
    "manifest_matches_dataservice": "DataService consistency",
    "existing_files_are_reusable": "DataService consistency",
    "harmonized_files_exist_in_s3": "S3",
    "no_file_more_open_than_sources": "access",
    "genomic_file_payload_suite": "payload",
    "biospecimen_link_payload_suite": "payload",
    "experiment_link_payload_suite": "payload",
    "no_planned_file_is_hidden": "hidden files",
    "load_matches_plan": "reconciliation",
    "plan_is_approved": "approved plan",
    "plan_applied": "reconciliation",
}
CLASS_ORDER = list(dict.fromkeys(CHECK_CLASSES.values())) + ["other"]
LISTED_PER_CLASS = 1000  # report.json; every row is in the check's CSV
FIELDS = ["check", "row", "column", "value", "expected", "suggestion", "severity"]


def check_class(check_name: str) -> str:
    return CHECK_CLASSES.get(check_name, "other")


def _offending(path: str | None) -> pd.DataFrame:
    if not path or not Path(path).exists():
        return pd.DataFrame(columns=FIELDS)
    return pd.read_csv(path, dtype=str, keep_default_na=False).reindex(columns=FIELDS)


def grouped_problems(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per class with a failed check: its checks, error/warning counts and the problems
    (``dagster_check``, ``check`` (the rule), ``row``, ``column``, ``value``, ``expected``,
    ``fix``, ``severity``), errors first."""
    by_class: dict[str, list[dict]] = {}
    for check in checks:
        if not check["passed"]:
            by_class.setdefault(check_class(check["name"]), []).append(check)
    groups = []
    for name in CLASS_ORDER:
        if name not in by_class:
            continue
        problems = []
        for check in by_class[name]:
            for issue in _offending(check.get("offending_rows_csv")).to_dict("records"):
                problems.append({"dagster_check": check["name"], "check": issue["check"],
                                 "row": int(issue["row"]) if str(issue["row"]).isdigit() else None,
                                 "column": issue["column"], "value": issue["value"],
                                 "expected": issue["expected"], "fix": issue["suggestion"],
                                 "severity": issue["severity"] or "error"})
        problems.sort(key=lambda p: (p["severity"] != "error", p["row"] is None, p["row"] or 0))
        errors = sum(1 for p in problems if p["severity"] == "error")
        groups.append({
            "class": name,
            "checks": [check["name"] for check in by_class[name]],
            "blocks_real_run": any(check.get("blocks_real_run") for check in by_class[name]),
            "errors": errors, "warnings": len(problems) - errors,
            "problems": problems[:LISTED_PER_CLASS],
            "listed": min(len(problems), LISTED_PER_CLASS),
        })
    return groups

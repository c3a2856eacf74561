"""Read-back reconciliation: did the load do exactly what the plan said, and nothing else?"""

from dataclasses import dataclass

import pandas as pd

RECONCILE_COLUMNS = ["check", "row", "column", "value", "expected", "suggestion", "severity"]
TABLES = ("genomic_files", "biospecimen_genomic_files", "sequencing_experiment_genomic_files")
LINK_TARGETS = {"biospecimen_genomic_files": "biospecimen_id",
                "sequencing_experiment_genomic_files": "sequencing_experiment_id"}
RERUN = "rerun the ingest: it plans against what is stored now and writes what is missing or differs"
DUPLICATE_LINK = ("the link is stored more than once: a rerun never removes links; delete the "
                  "extra one(s) in the DataService")
# Column of read-back records found only by an external_id look-up (value "external_id"):
# counted per external_id (a second record), but not part of the study's before/after.
READ_BACK_BY = "read_back_by"
ELSEWHERE = ("something other than this run changed the study meanwhile: inspect the record in "
             "the DataService")


@dataclass
class Expected:
    """What the study should look like after the run.

    ``files``: external_id -> the fields the file must hold (the plan's ``expected``); ``links``: table ->
    set of (genomic file external_id, target kf_id); ``written``: table -> kf_ids
    the run created or updated (empty in a dry run); ``run_id`` names the run in
    the way out of a duplicate.
    """

    files: dict[str, dict]
    links: dict[str, set[tuple[str, str]]]
    written: dict[str, set[str]]
    run_id: str = ""


def reconcile(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame],
              expected: Expected) -> pd.DataFrame:
    """Differences between the read-back state and the expected one (empty = reconciled)."""
    issues: list[dict] = []
    files_after = after["genomic_files"]
    by_external = files_after.groupby("external_id")["kf_id"].apply(list).to_dict() \
        if len(files_after) else {}
    records = files_after.set_index("kf_id").to_dict("index") if len(files_after) else {}
    for external_id, desired in expected.files.items():
        kf_ids = by_external.get(external_id, [])
        if len(kf_ids) > 1:
            issues.append(_issue("file_count", external_id, "external_id", len(kf_ids),
                                 "exactly one genomic file",
                                 suggestion=_duplicate_way_out(kf_ids, expected)))
            continue
        if not kf_ids:
            issues.append(_issue("file_count", external_id, "external_id", 0,
                                 "exactly one genomic file",
                                 suggestion=RERUN))
            continue
        record = records[kf_ids[0]]
        for field, value in desired.items():
            if _normalized(record.get(field)) != _normalized(value):
                issues.append(_issue("file_field", external_id, field, record.get(field), value,
                                     suggestion=RERUN))
    gf_external = {kf: rec.get("external_id") for kf, rec in records.items()}
    for table, target in LINK_TARGETS.items():
        links = after[table]
        pairs = list(zip(links["genomic_file_id"].map(gf_external), links[target])) \
            if len(links) else []
        counts = pd.Series(pairs, dtype=object).value_counts().to_dict() if pairs else {}
        for pair in expected.links[table]:
            if counts.get(pair, 0) != 1:
                issues.append(_issue("link_count", pair[0], target, f"{pair[1]} x{counts.get(pair, 0)}",
                                     "exactly one link", table=table,
                                     suggestion=RERUN if not counts.get(pair) else DUPLICATE_LINK))
    for table in TABLES:
        table_after = after[table]
        if READ_BACK_BY in table_after.columns:
            table_after = table_after[table_after[READ_BACK_BY] != "external_id"]
        issues += _unexpected_changes(table, before[table], table_after, expected.written[table])
    return pd.DataFrame(issues, columns=RECONCILE_COLUMNS)


def _unexpected_changes(table: str, before: pd.DataFrame, after: pd.DataFrame,
                        written: set[str]) -> list[dict]:
    """Records this run did not write must be exactly as they were before it."""
    old = dict(zip(before["kf_id"], before["modified_at"])) if len(before) else {}
    new = dict(zip(after["kf_id"], after["modified_at"])) if len(after) else {}
    issues = []
    for kf_id in sorted(set(new) - set(old) - written):
        issues.append(_issue("unexpected_record", kf_id, "kf_id", kf_id,
                             "no record this run did not create", table=table))
    for kf_id in sorted(set(old) - set(new)):
        issues.append(_issue("record_disappeared", kf_id, "kf_id", kf_id,
                             "the record still present", table=table))
    for kf_id in sorted((set(old) & set(new)) - written):
        if old[kf_id] != new[kf_id]:
            issues.append(_issue("record_modified", kf_id, "modified_at", new[kf_id],
                                 f"unchanged ({old[kf_id]})", table=table))
    return issues


def _duplicate_way_out(kf_ids: list[str], expected: Expected) -> str:
    """Which records hold the external_id, which of them this run made, and how to undo."""
    ours = sorted(set(kf_ids) & expected.written["genomic_files"])
    others = sorted(set(kf_ids) - set(ours))
    text = (f"the DataService holds {len(kf_ids)} genomic files with this external_id "
            f"({', '.join(sorted(kf_ids))}); a rerun does not fix duplicates (it never adds to "
            "them): ")
    if ours:
        return text + (f"{', '.join(ours)} written (created or updated) by this run"
                       f"{f' {expected.run_id}' if expected.run_id else ''}: undo_gwo with this "
                       "run's report.json deletes what it created and restores what it updated; "
                       f"the others ({', '.join(others)}) were there before or were written by "
                       "another run at the same time")
    return text + ("none was written by this run: keep one, delete the others (undo_gwo with the "
                   "report of the run that created them)")


def _issue(check: str, subject: str, column: str, value: object, expected: object,
           table: str = "genomic_files", suggestion: str | None = None) -> dict:
    shown = str(value) if str(value) == str(subject) else f"{subject}: {value}"
    return {"check": f"{table}:{check}", "row": None, "column": column,
            "value": shown, "expected": str(expected),
            "suggestion": suggestion or ELSEWHERE,
            "severity": "error"}


def _normalized(value: object) -> object:
    """Compare lists as sorted, dicts by items, so order never makes a false difference."""
    if isinstance(value, list):
        return sorted(map(str, value))
    if isinstance(value, dict):
        return sorted((str(k), str(v)) for k, v in value.items())
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value

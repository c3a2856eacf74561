"""The drift audit's files (``<report_dir>/<run_id>/``: ``drift_report.md``, ``drift_report.json``,
``drift/<class>.csv`` per drift class and ``drift/files.csv``) and how to fix each class.

The audit itself never writes to the DataService: every fix here is a command for a person
to run after reading the list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from gwo_assets.assets.step_helpers.artifacts import run_dir, write_csv, write_json
from gwo_assets.assets.step_helpers.metadata import markdown_table
from gwo_assets.core.drift import (AVAILABILITY_WRONG, CHANGED, DRIFT_CLASSES, LABELS,
                                   OBJECT_GONE, UNREADABLE, with_problem)

PREVIEW_COLUMNS = ["kf_id", "url", "detail"]
PREVIEW_ROWS = 10
MANIFEST_PLACEHOLDER = "<the study's GWO manifest>"


def fix_text(name: str, study_id: str, manifest: str | None, csv_path: str) -> str:
    """What to do about the files of one drift class, with the commands."""
    manifest = manifest or MANIFEST_PLACEHOLDER
    rerun = f"gwo ingest {study_id} {manifest} --write"
    if name in (CHANGED, AVAILABILITY_WRONG):
        what = "size and hashes" if name == CHANGED else "availability"
        return (f"Rerun the ingest with the study's manifest (dry run first, then --write): it "
                f"PATCHes the {what} of exactly these files to what S3 holds now: "
                f"`gwo ingest {study_id} {manifest}` then `{rerun}`. The ingest stops before any "
                "write while a manifest object is gone or unreadable "
                "(harmonized_files_exist_in_s3): fix those first, or drop their rows from the "
                "manifest, or load the rest with `skip_invalid_rows: true` in --config. A file "
                f"not in that manifest any more: fix its record by hand (the list: {csv_path}).")
    if name == OBJECT_GONE:
        return (
            "Restore the object at the same path (then nothing to do), or take the record out "
            f"of circulation. Hide it (reversible; the next audit stops counting it): for "
            f"each kf_id in {csv_path}, `curl -X PATCH \"$KF_DATASERVICE_URL/genomic-files/"
            f"<kf_id>\" -H \"Authorization: Bearer $KF_DATASERVICE_TOKEN\" -H 'Content-Type: "
            "application/json' -d '{\"visible\": false}'`; e.g. all of them: `tail -n +2 "
            f"{csv_path} | cut -d, -f1 | xargs -I{{}} curl -X PATCH "
            "\"$KF_DATASERVICE_URL/genomic-files/{}\" -H \"Authorization: Bearer "
            "$KF_DATASERVICE_TOKEN\" -H 'Content-Type: application/json' -d "
            "'{\"visible\": false}'`. Or remove it: DELETE its links (`GET "
            "/biospecimen-genomic-files?genomic_file_id=<kf_id>` and `GET "
            "/sequencing-experiment-genomic-files?genomic_file_id=<kf_id>`, then `DELETE` "
            "each link's kf_id), then `DELETE /genomic-files/<kf_id>`; a file created by one "
            "ingest run can be taken back with `undo_gwo` and that run's report.json.")
    if name == UNREADABLE:
        return ("Not drift yet: the audit could not tell. 403 AccessDenied: give the audit's "
                "AWS identity s3:GetObject on these keys (HEAD needs it; check the bucket "
                "policy and any KMS key policy), then rerun `gwo audit "
                f"{study_id}`. Another S3 error: the code is in `detail`; rerun the audit. "
                f"No s3:// URL: the record's urls need one. The list: {csv_path}.")
    raise ValueError(name)


def write_audit_files(report_dir: str, run_id: str, report: dict[str, Any],
                      drift: pd.DataFrame, manifest: str | None) -> dict[str, Any]:
    """Write every file of the audit; returns ``report`` completed with the paths, per-class
    counts, previews and fixes (what ``drift_report.json`` holds)."""
    folder = run_dir(report_dir, run_id)
    study_id = report["study_id"]
    write_csv(folder / "drift" / "files.csv", drift)
    classes = {}
    for name in DRIFT_CLASSES:
        offending = with_problem(drift, name)
        csv_path = folder / "drift" / f"{name}.csv"
        if not offending.empty:
            write_csv(csv_path, offending)
        classes[name] = {
            "label": LABELS[name], "count": int(len(offending)),
            "csv": str(csv_path) if not offending.empty else None,
            "fix": fix_text(name, study_id, manifest, str(csv_path)),
            "preview": offending[PREVIEW_COLUMNS].head(PREVIEW_ROWS).to_dict("records"),
        }
    report = {**report, "classes": classes, "manifest": manifest,
              "folder": str(folder), "files_csv": str(folder / "drift" / "files.csv"),
              "report_md": str(folder / "drift_report.md")}
    write_json(folder / "drift_report.json", report)
    (folder / "drift_report.md").write_text(markdown(report, drift))
    return report


def summary_line(report: dict[str, Any]) -> str:
    counts = report["counts"]
    drifted = report["drifted"]
    audited = report["files"] - counts.get("hidden", 0)
    if drifted == 0:
        return (f"GWO audit OK for {report['study_id']}: all {audited} audited files agree "
                f"with S3 ({counts.get('hidden', 0)} hidden, not audited)")
    found = ", ".join(f"{LABELS[name]} {report['classes'][name]['count']}"
                      for name in DRIFT_CLASSES if report["classes"][name]["count"])
    return (f"GWO audit DRIFT for {report['study_id']}: {drifted} of {audited} audited files "
            f"disagree with S3: {found}")


def markdown(report: dict[str, Any], drift: pd.DataFrame) -> str:
    counts = report["counts"]
    lines = [
        f"# Drift audit of {report['study_id']}", "",
        summary_line(report) + ".", "",
        f"Run `{report['run_id']}`, {report['audited_at']}; DataService "
        f"{report['dataservice_url']}; {report['seconds']:.1f} s. Last time the DataService "
        f"and S3 agreed on this study: {report.get('last_agreed') or 'not since auditing began'}.",
        "", "Read-only: the audit wrote nothing to the DataService "
        f"(requests: {report['dataservice_requests']}; S3: {report['s3_requests']}).", "",
        *[f"**Warning:** {warning}.\n" for warning in report.get("warnings", [])],
        "| class | files |", "|---|---|",
        *[f"| {LABELS[name]} | {value} |" for name, value in counts.items()], "",
    ]
    for name in DRIFT_CLASSES:
        entry = report["classes"][name]
        if not entry["count"]:
            continue
        offending = with_problem(drift, name)
        lines += [f"## {LABELS[name]}: {entry['count']} file(s)", "",
                  markdown_table(offending[PREVIEW_COLUMNS], 50), "",
                  f"All of them: `{entry['csv']}`", "", f"**Fix.** {entry['fix']}", ""]
    return "\n".join(lines)


def fix_lines(report: dict[str, Any]) -> list[str]:
    """One line per drift class found: its count, its CSV and the short form of its fix."""
    study = report["study_id"]
    manifest = report.get("manifest") or MANIFEST_PLACEHOLDER
    short = {
        CHANGED: f"rerun the ingest: gwo ingest {study} {manifest} --write (PATCHes size/hashes)",
        AVAILABILITY_WRONG: f"rerun the ingest: gwo ingest {study} {manifest} --write "
                            "(PATCHes availability)",
        OBJECT_GONE: "restore the object, or hide the record (PATCH visible: false) / remove "
                     "it: commands in the report",
        UNREADABLE: "grant s3:GetObject to the audit's AWS identity (or see the S3 error), "
                    f"then gwo audit {study}",
    }
    lines = [f"  WARNING: {warning}" for warning in report.get("warnings", [])]
    for name in DRIFT_CLASSES:
        entry = report["classes"][name]
        if entry["count"]:
            first = entry["preview"][0]
            lines.append(f"  {LABELS[name]}: {entry['count']} (e.g. {first['kf_id']} "
                         f"{first['url']}: {first['detail']}); fix: {short[name]}; "
                         f"list: {entry['csv']}")
    return lines


def report_path(report_dir: str, run_id: str) -> Path:
    return Path(report_dir).expanduser().resolve() / run_id / "drift_report.json"

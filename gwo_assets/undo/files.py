"""Undo's files: the run's report and load results in, ``undo-<undo_run_id>.json/.md`` out."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gwo_assets.assets.step_helpers.artifacts import read_jsonl, write_json
from gwo_assets.undo.plan import (
    DELETE_ORDER,
    DONE,
    EXPERIMENTS,
    FAILED,
    PLANNED,
    SKIPPED,
    UndoAction,
    UndoRefused,
)


def read_report(path: Path) -> dict[str, Any]:
    """The run's report.json; UndoRefused when it is missing or not a JSON object."""
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise UndoRefused(f"No report at {path}: give the path of a run's report.json") from None
    except (OSError, ValueError) as error:
        raise UndoRefused(f"Cannot read the report {path}: {error}") from None
    if not isinstance(report, dict):
        raise UndoRefused(f"{path} is not an ingest_gwo report (not a JSON object)")
    return report


def read_results(folder: Path) -> dict[str, list[dict] | None]:
    """Each load step's result rows from ``<step>.jsonl`` (None when the file is absent)."""
    results: dict[str, list[dict] | None] = {}
    for step in DELETE_ORDER:
        path = folder / f"{step}.jsonl"
        try:
            results[step] = read_jsonl(path)
        except ValueError as error:
            raise UndoRefused(f"Cannot read {path}: {error}") from None
    return results


def undo_paths(folder: Path, undo_run_id: str) -> tuple[Path, Path]:
    return folder / f"undo-{undo_run_id}.json", folder / f"undo-{undo_run_id}.md"


def write_undo_report(folder: Path, summary: dict[str, Any],
                      actions: list[UndoAction]) -> tuple[Path, Path, str]:
    """undo-<id>.json (summary + every action) and undo-<id>.md; returns both paths and the md."""
    json_path, md_path = undo_paths(folder, summary["undo_run_id"])
    write_json(json_path, {**summary, "actions": [asdict(a) for a in actions]})
    markdown = render_markdown(summary, actions)
    md_path.write_text(markdown)
    return json_path, md_path, markdown


def render_markdown(summary: dict[str, Any], actions: list[UndoAction]) -> str:
    dry_run = summary["dry_run"]
    mode = "dry run (nothing written)" if dry_run else "real run"
    deleted, restored = ("would delete", "would restore") if dry_run else ("deleted", "restored")
    lines = [f"# GWO undo: {summary['status'].upper()}", "",
             f"Undo run `{summary['undo_run_id']}` of ingest run `{summary['run_id']}`, "
             f"study `{summary['study_id']}`, {mode}.", "",
             f"| endpoint | {deleted} | {restored} | skipped | failed |",
             "|---|---|---|---|---|"]
    for step, c in summary["counts"].items():
        lines.append(f"| {step} | {c['deleted']} | {c['restored']} | {c['skipped']} | {c['failed']} |")
    if summary["status"] == "writing":
        lines += ["", "**This undo is writing, or died while writing.** If its run is no longer "
                  "running, re-create by hand each experiment listed under *Link-less sequencing "
                  "experiments* whose `GET /sequencing-experiments/<kf_id>` answers 404: POST "
                  "`/sequencing-experiments` with its `details.body` from the JSON report "
                  "(it carries the kf_id). Never POST one that answers 200: a POST naming an "
                  "existing kf_id overwrites it. Then rerun the undo."]
    lines += _experiment_lines(summary, [a for a in actions if a.step == EXPERIMENTS])
    for status, title in ((FAILED, "Failed"), (SKIPPED, "Skipped (not touched)"),
                          (PLANNED, "Would do"), (DONE, "Done")):
        chosen = [a for a in actions if a.status == status and a.step != EXPERIMENTS]
        if chosen:
            lines += ["", f"## {title}", "", "| endpoint | kf_id | operation | reason |",
                      "|---|---|---|---|"]
            lines += [f"| {a.step} | {a.kf_id} | {a.operation} | {_cell(a.reason)} |"
                      for a in chosen]
    return "\n".join(lines) + "\n"


def _experiment_lines(summary: dict[str, Any], experiments: list[UndoAction]) -> list[str]:
    """What happens to the experiments the DataService sweeps, in any study."""
    sweep = summary.get("experiment_sweep") or {}
    if not experiments:
        note = sweep.get("note") or "none without a genomic-file link when listed"
        return ["", f"Link-less sequencing experiments: {note}."]
    lines = ["", "## Link-less sequencing experiments (any study)", "",
             f"{len(experiments)} experiment(s) had no genomic-file link when listed. The "
             "DataService deletes every such experiment, in every study, at any experiment-link "
             "delete, so undo's first one deletes them; undo then re-creates each under its own "
             "kf_id with every field it had (new created_at/modified_at). Their study is "
             "unknown: the API ties an experiment to a study only through its links."]
    window = sweep.get("unseen_window")
    if window:
        lines += ["", f"Not seen by any read: an experiment created from {window['from']} to "
                      f"{window['to']} and still without a link then may have been swept."]
    lines += ["", "| kf_id | external_id | sequencing_center_id | created_at | status | reason |",
              "|---|---|---|---|---|---|"]
    for a in experiments:
        body = a.details.get("body") or {}
        lines.append(f"| {a.kf_id} | {_cell(str(body.get('external_id')))} | "
                     f"{body.get('sequencing_center_id')} | {a.details.get('created_at')} | "
                     f"{a.status} | {_cell(a.reason)} |")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

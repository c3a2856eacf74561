"""What undoing an ingest run means, as pure decisions (no HTTP, no Dagster).

A real run's ``report.json`` lists the kf_ids it created and the genomic files it
updated (with their previous values); its load results (``<step>.jsonl`` beside
the report) say what each created record was: a file's external_id, a link's
(genomic file, biospecimen | experiment) pair. Undo deletes a created record only
while it still is exactly that, restores an update only while the file still
holds what the run wrote, and refuses any delete the DataService would turn into
collateral damage: a genomic file's cascade to links that are not the run's, and
the last link of an experiment (the DataService would then delete the experiment).
Experiments that have no link at all, in any study, are swept by every
experiment-link delete (contract 117-118): undo snapshots them and re-creates them
(``link_less_experiments``, see apply.py).
"Still what the run left" means every field the run wrote (a created file's whole
POST body, an update's PATCH body), and ``modified_at`` when the results keep it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gwo_assets.core.kf_ids import is_kf_id
from gwo_assets.core.plan import typed
from gwo_assets.errors import GwoError

GENOMIC_FILES = "genomic_files"
BS_LINKS = "biospecimen_genomic_files"
SE_LINKS = "sequencing_experiment_genomic_files"
DELETE_ORDER = (SE_LINKS, BS_LINKS, GENOMIC_FILES)
ENDPOINTS = {GENOMIC_FILES: "/genomic-files", BS_LINKS: "/biospecimen-genomic-files",
             SE_LINKS: "/sequencing-experiment-genomic-files"}
PREFIXES = {GENOMIC_FILES: "GF", BS_LINKS: "BG", SE_LINKS: "SG"}
# The fields that say what a created record is; the link ids are read from ``_links``.
IDENTITY = {GENOMIC_FILES: {"external_id": None},
            BS_LINKS: {"genomic_file_id": "GF", "biospecimen_id": "BS"},
            SE_LINKS: {"genomic_file_id": "GF", "sequencing_experiment_id": "SE"}}
UNORDERED_FIELDS = {"authz", "acl"}
# Link-less experiments the DataService sweeps (every study's) and undo re-creates.
EXPERIMENTS = "sequencing_experiments"
EXPERIMENTS_ENDPOINT = "/sequencing-experiments"
# What an experiment answers but a POST must not send: timestamps and relation lists.
EXPERIMENT_OUTPUT_ONLY = frozenset({"created_at", "modified_at", SE_LINKS})
# The deletes after which the DataService sweeps: SE links, directly or by a genomic
# file's cascade. Biospecimen-link deletes never do.
SWEEPING_STEPS = (SE_LINKS, GENOMIC_FILES)

# Status of one action: planned (dry run), done, skipped (not touched, see reason), failed.
PLANNED, DONE, SKIPPED, FAILED = "planned", "done", "skipped", "failed"


class UndoRefused(GwoError):
    """The report cannot be undone safely; nothing was written."""


@dataclass(frozen=True)
class Deletion:
    """A record the run created, and what it must still be for undo to delete it."""

    step: str
    kf_id: str
    expected: dict[str, Any]


@dataclass(frozen=True)
class Restoration:
    """A genomic file the run PATCHed: what it wrote, and the values to put back."""

    kf_id: str
    written: dict[str, Any]
    previous: dict[str, Any]
    external_id: str | None = None


@dataclass(frozen=True)
class UndoPlan:
    run_id: str
    study_id: str
    dataservice_url: str | None
    deletions: tuple[Deletion, ...]
    restorations: tuple[Restoration, ...]

    def deletions_of(self, step: str) -> list[Deletion]:
        return [d for d in self.deletions if d.step == step]


@dataclass(frozen=True)
class UndoAction:
    """One row of the undo report."""

    step: str
    kf_id: str
    operation: str  # delete | restore
    status: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def skip(self, reason: str) -> "UndoAction":
        return replace(self, status=SKIPPED, reason=reason)


def plan_undo(report: Mapping[str, Any], results: Mapping[str, list[dict] | None]) -> UndoPlan:
    """Deletions and restorations for a real run's report; UndoRefused when unsafe.

    ``results`` holds each load step's result rows (None when its file is missing).
    Every kf_id is format-checked here, before any of them can reach a URL.
    """
    if report.get("dry_run") is not False:
        raise UndoRefused(f"Run {report.get('run_id')} was a dry run (or does not say): "
                          "it wrote nothing, so there is nothing to undo")
    study_id = report.get("study_id")
    if not is_kf_id(study_id, "SD"):
        raise UndoRefused(f"The report's study_id {study_id!r} is not a study kf_id")
    kf_ids = report.get("kf_ids")
    if not isinstance(kf_ids, Mapping):
        raise UndoRefused("The report has no kf_ids section: it is not an ingest_gwo report")
    deletions: list[Deletion] = []
    restorations: list[Restoration] = []
    for step in DELETE_ORDER:
        written = kf_ids.get(step) or {}
        created, updated = (written.get("created") or [], written.get("updated") or []) \
            if isinstance(written, Mapping) else (None, None)
        if not isinstance(created, list) or not isinstance(updated, list):
            raise UndoRefused(f"The report's kf_ids.{step} is not a created/updated listing")
        if not created and not updated:
            continue
        rows = _rows_by_kf_id(step, results.get(step))
        deletions += [_deletion(step, kf_id, rows) for kf_id in created]
        restorations += [_restoration(step, entry, rows) for entry in updated]
    inputs = report.get("inputs") or {}
    return UndoPlan(run_id=str(report.get("run_id")), study_id=study_id,
                    dataservice_url=inputs.get("dataservice_url"),
                    deletions=tuple(deletions), restorations=tuple(restorations))


def _rows_by_kf_id(step: str, rows: list[dict] | None) -> dict[str, dict]:
    if rows is None:
        raise UndoRefused(f"The report lists {step} writes but {step}.jsonl is missing beside "
                          "it: without it undo cannot check what each record was")
    return {row["kf_id"]: row for row in rows
            if row.get("status") == "done" and isinstance(row.get("kf_id"), str)}


def _checked_kf_id(value: Any, prefix: str, where: str) -> str:
    if not is_kf_id(value, prefix):
        raise UndoRefused(f"{where}: {value!r} is not a {prefix} kf_id; the report looks "
                          "damaged, so nothing is undone")
    return value


def _deletion(step: str, kf_id: Any, rows: Mapping[str, dict]) -> Deletion:
    kf_id = _checked_kf_id(kf_id, PREFIXES[step], f"{step} created")
    row = rows.get(kf_id)
    if row is None or row.get("action") != "create":
        raise UndoRefused(f"{kf_id} is listed as created by {step} but its results do not "
                          "record that creation")
    expected = {}
    for name, prefix in IDENTITY[step].items():
        value = row.get(name)
        if prefix is not None:
            _checked_kf_id(value, prefix, f"{step} {kf_id} {name}")
        elif not isinstance(value, str) or not value:
            raise UndoRefused(f"{step} {kf_id}: the results record no {name}")
        expected[name] = value
    if step == GENOMIC_FILES:
        expected = {**_written_body(step, kf_id, row), **expected}
    return Deletion(step, kf_id, {**expected, **_kept_modified_at(row)})


def _written_body(step: str, kf_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The body the run sent for this record, as its results recorded it."""
    body = row.get("payload")
    if not isinstance(body, Mapping) or not body:
        raise UndoRefused(f"{step} {kf_id}: the results do not record what was written")
    return dict(body)


def _kept_modified_at(row: Mapping[str, Any]) -> dict[str, str]:
    """``modified_at`` of the record as the run left it, when its results keep it."""
    value = row.get("modified_at")
    return {"modified_at": value} if isinstance(value, str) and value else {}


def _restoration(step: str, entry: Any, rows: Mapping[str, dict]) -> Restoration:
    if step != GENOMIC_FILES:
        raise UndoRefused(f"The report lists updates of {step}: ingest_gwo only updates "
                          "genomic files")
    entry = entry if isinstance(entry, Mapping) else {}
    kf_id = _checked_kf_id(entry.get("kf_id"), "GF", "genomic_files updated")
    previous = entry.get("previous")
    row = rows.get(kf_id)
    if not isinstance(previous, Mapping) or not previous:
        raise UndoRefused(f"{kf_id} is listed as updated without its previous values")
    if row is None or row.get("action") != "update" or not isinstance(row.get("payload"), Mapping):
        raise UndoRefused(f"{kf_id} is listed as updated but its results do not record what "
                          "was written")
    written = {**dict.fromkeys(previous), **row["payload"], **_kept_modified_at(row)}
    restored = {name: typed(name, value) for name, value in previous.items()}
    return Restoration(kf_id, written, restored, row.get("external_id"))


# -- decisions on the stored state ---------------------------------------------------


def comparable(name: str, value: Any) -> Any:
    """A field value normalised for comparison (authz/acl order-free, size an int)."""
    if value is None:
        return None
    if name in UNORDERED_FIELDS:
        return sorted(value)
    if name == "size":
        return int(value)
    return value


def changed_fields(expected: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    return [name for name, value in expected.items()
            if comparable(name, current.get(name)) != comparable(name, value)]


def check_deletion(deletion: Deletion, current: Mapping[str, Any] | None) -> str:
    """Why the stored record must not be deleted ("" when it still is what the run created)."""
    if current is None:
        return "already gone"
    changed = changed_fields(deletion.expected, current)
    if changed:
        was = ", ".join(f"{n} {deletion.expected[n]} -> {current.get(n)}" for n in changed)
        return f"changed since the run ({was})"
    return ""


def check_restoration(restoration: Restoration, current: Mapping[str, Any] | None) -> str:
    """Why the stored file must not be PATCHed back ("" when it still holds what the run wrote)."""
    if current is None:
        return "already gone"
    if not changed_fields(restoration.written, current):
        return ""
    if not changed_fields(restoration.previous, current):
        return "already has the previous values"
    return f"changed since the run ({', '.join(changed_fields(restoration.written, current))})"


def orphaned_experiments(deleting: Mapping[str, str],
                         links_by_experiment: Mapping[str, Iterable[str]]) -> set[str]:
    """Experiments that would keep no link once the ``deleting`` links (kf_id -> experiment) go.

    The DataService deletes such an experiment, in any study, with the last link.
    """
    remaining = {experiment: set(links) for experiment, links in links_by_experiment.items()}
    for link, experiment in deleting.items():
        remaining.setdefault(experiment, set()).discard(link)
    return {experiment for experiment in set(deleting.values()) if not remaining[experiment]}


def foreign_links(current_links: Iterable[str], removed: set[str]) -> list[str]:
    """Links of a file that undo does not remove: deleting the file would cascade to them."""
    return sorted(set(current_links) - removed)


def keep_links_of_kept_files(links: list[UndoAction], files: list[UndoAction]) -> list[UndoAction]:
    """A created file that stays keeps its created links too, so it is never left half undone."""
    kept = {f.kf_id: f.reason for f in files if f.status != PLANNED}
    return [link.skip(f"kept with its genomic file {gf}, which is not deleted ({kept[gf]})")
            if link.status == PLANNED and (gf := link.details.get("genomic_file_id")) in kept
            else link for link in links]


def keep_files_with_failed_links(files: list[UndoAction],
                                 links: list[UndoAction]) -> list[UndoAction]:
    """A file whose link could not be deleted stays: deleting it would cascade to that link."""
    failed = {link.details.get("genomic_file_id"): link.kf_id for link in links
              if link.status == FAILED}
    return [f.skip(f"its link {failed[f.kf_id]} could not be deleted")
            if f.status == PLANNED and f.kf_id in failed else f for f in files]


def summarize(actions: Iterable[UndoAction], dry_run: bool) -> dict[str, dict[str, int]]:
    """Per step: deleted, restored (planned in a dry run, done in a real run), skipped, failed.

    A re-created experiment counts as restored under ``sequencing_experiments``."""
    counts = {step: {"deleted": 0, "restored": 0, "skipped": 0, "failed": 0}
              for step in (*DELETE_ORDER, EXPERIMENTS)}
    counted = PLANNED if dry_run else DONE
    for action in actions:
        if action.status == counted:
            key = "deleted" if action.operation == "delete" else "restored"
        elif action.status in (SKIPPED, FAILED):
            key = action.status
        else:
            continue
        counts[action.step][key] += 1
    return counts


# -- experiments the DataService sweeps ---------------------------------------------


def can_sweep(actions: Iterable[UndoAction]) -> bool:
    """Whether a planned delete may make the DataService sweep link-less experiments."""
    return any(a.status == PLANNED and a.operation == "delete" and a.step in SWEEPING_STEPS
               for a in actions)


def experiment_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """The POST body that re-creates a (flattened) experiment exactly, under its own kf_id:
    every field it answered except the output-only ones (``sequencing_center_id`` comes
    from its ``_links``)."""
    return {name: value for name, value in record.items() if name not in EXPERIMENT_OUTPUT_ONLY}


def link_less_experiments(records: Iterable[Mapping[str, Any]]) -> list[UndoAction]:
    """A planned re-creation for each listed experiment with no genomic-file link.

    The DataService will delete all of them at undo's first experiment-link delete. None
    can be tied to a study: the API joins experiments to studies only through links.
    """
    actions = []
    for record in records:
        if record.get(SE_LINKS):
            continue
        body = experiment_body(record)
        kf_id = body.get("kf_id")
        if not is_kf_id(kf_id, "SE"):
            raise UndoRefused(f"The DataService lists a link-less sequencing experiment with "
                              f"kf_id {kf_id!r}, which undo cannot address; the first "
                              "experiment-link delete would delete it, so nothing is undone")
        actions.append(UndoAction(
            EXPERIMENTS, kf_id, "recreate", PLANNED,
            reason="has no genomic-file link: the DataService deletes it (any study's) at "
                   "undo's first experiment-link delete; undo re-creates it under its kf_id",
            details={"body": body, "created_at": record.get("created_at"),
                     "study": "unknown (no link ties it to a study)"}))
    return sorted(actions, key=lambda a: a.kf_id)


def check_recreated(body: Mapping[str, Any], stored: Mapping[str, Any]) -> str:
    """"" when the re-created experiment holds every field it had, else the fields."""
    changed = changed_fields(body, stored)
    return f"re-created but differs in {', '.join(changed)}" if changed else ""


def recreate_instructions(kf_id: str, report_name: str) -> str:
    """How an operator re-creates one swept experiment by hand."""
    return (f"if GET {EXPERIMENTS_ENDPOINT}/{kf_id} answers 404, POST {EXPERIMENTS_ENDPOINT} "
            f"with the body in {report_name} (actions, kf_id {kf_id}, details.body: it "
            "carries the kf_id); a POST naming an existing kf_id overwrites it, so never "
            "POST it while the GET answers 200")

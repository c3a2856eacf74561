"""Undo against the DataService: read everything back and decide, then write in order.

``decide`` only reads, so a dry run reports exactly the decisions a real run acts
on; ``write`` then deletes SE links, BS links, genomic files, PATCHes the updated
files back and re-creates the swept experiments. A record found gone at write time
is reported, not failed; a DELETE whose answer was lost and whose retry found the
record gone is done (the client tells it apart from a record someone else deleted
first).

**Link-less experiments of every study.** The DataService deletes every sequencing
experiment without a genomic-file link, in every study, whenever any experiment link
is deleted, directly or by a genomic file's cascade (contract 117-118). Undo cannot
avoid those deletes, so it restores what they take: right before its first delete
that can sweep, ``snapshot_experiments`` lists every experiment (pages of 1000) and
keeps the full record of each one with no link; the job persists that snapshot (undo
report and run log) before the first delete; after the last delete
``recreate_swept`` GETs each one and re-POSTs every one answering 404 under its own
kf_id with every writable field it had (a POST naming a kf_id that exists would
silently overwrite it, so it is sent only after the 404), then compares the stored
record with the snapshot. Refusing instead whenever such an experiment exists would
make undo unusable in production, where link-less experiments can sit for long.
What is not exact: ``created_at``/``modified_at`` are output-only, so a re-created
experiment carries new ones (and moves to the end of the list order). What no API
read can see: an experiment another loader creates between the end of the listing
and undo's last sweeping delete and has not linked by then is deleted unseen; the
undo report gives that window's start and end.
"""

from datetime import datetime, timezone

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from dagster import DagsterLogManager

from gwo_assets.assets.step_helpers.progress import Progress
from gwo_assets.errors import DataServiceError
from gwo_assets.resources.creates import recreate
from gwo_assets.resources.dataservice import DataServiceClient, Outcome
from gwo_assets.undo.plan import (
    BS_LINKS,
    DONE,
    ENDPOINTS,
    EXPERIMENTS,
    EXPERIMENTS_ENDPOINT,
    FAILED,
    GENOMIC_FILES,
    PLANNED,
    SE_LINKS,
    Deletion,
    Restoration,
    UndoAction,
    UndoPlan,
    check_deletion,
    check_recreated,
    check_restoration,
    foreign_links,
    keep_files_with_failed_links,
    keep_links_of_kept_files,
    link_less_experiments,
    orphaned_experiments,
    recreate_instructions,
)

T = TypeVar("T")
R = TypeVar("R")


class Undoer:
    """Decides and carries out an UndoPlan over one client."""

    def __init__(self, client: DataServiceClient, log: DagsterLogManager) -> None:
        self.client = client
        self.log = log
        # The window in which an unseen link-less experiment can be swept (UTC, ISO).
        self.listed_at: str | None = None
        self.last_delete_at: str | None = None

    # -- phase 1: read and decide ---------------------------------------------------

    def decide(self, plan: UndoPlan) -> list[UndoAction]:
        """Every action ``planned`` or skipped/failed with its reason; nothing is written."""
        se = self.guard_experiments(self.verify(plan.deletions_of(SE_LINKS)))
        bs = self.verify(plan.deletions_of(BS_LINKS))
        files = self.guard_files(self.verify(plan.deletions_of(GENOMIC_FILES)), se + bs)
        se, bs = keep_links_of_kept_files(se, files), keep_links_of_kept_files(bs, files)
        return se + bs + files + self.check_restorations(plan.restorations)

    def verify(self, deletions: Sequence[Deletion]) -> list[UndoAction]:
        """GET each record: ``planned`` while it still is what the run created."""
        actions = [UndoAction(d.step, d.kf_id, "delete", PLANNED, details=dict(d.expected))
                   for d in deletions]
        label = f"GET {ENDPOINTS[deletions[0].step]}" if deletions else ""
        outcomes = self._each(label, lambda d: self.client.get(ENDPOINTS[d.step], d.kf_id),
                              deletions)
        checked = []
        for action, deletion, outcome in zip(actions, deletions, outcomes, strict=True):
            if outcome.error is not None:
                action = _failed(action, f"could not read it: {outcome.error}")
            elif reason := check_deletion(deletion, outcome.value):
                action = action.skip(reason)
            checked.append(action)
        return checked

    def guard_experiments(self, actions: list[UndoAction]) -> list[UndoAction]:
        """Skip SE-link deletions that would leave their experiment without any link."""
        deleting = {a.kf_id: a.details["sequencing_experiment_id"] for a in actions
                    if a.status == PLANNED}
        experiments = sorted(set(deleting.values()))
        outcomes = self._each(
            "GET links by sequencing experiment",
            lambda se: self.client.list_all(ENDPOINTS[SE_LINKS], {"sequencing_experiment_id": se}),
            experiments)
        read = dict(zip(experiments, outcomes, strict=True))
        links = {se: {r["kf_id"] for r in o.value} for se, o in read.items() if o.error is None}
        unreadable = {se: str(o.error) for se, o in read.items() if o.error is not None}
        orphaned = orphaned_experiments({k: se for k, se in deleting.items() if se in links}, links)
        guarded = []
        for action in actions:
            experiment = action.details.get("sequencing_experiment_id")
            if action.status == PLANNED and experiment in unreadable:
                action = _failed(action, f"could not read the links of {experiment}: "
                                         f"{unreadable[experiment]}")
            elif action.status == PLANNED and experiment in orphaned:
                action = action.skip(f"{experiment} would keep no link, and the DataService "
                                     "would then delete the experiment")
            guarded.append(action)
        return guarded

    def guard_files(self, files: list[UndoAction], links: list[UndoAction]) -> list[UndoAction]:
        """Skip files that have links this undo does not delete (the delete would cascade)."""
        removable = {a.kf_id for a in links if a.status == PLANNED}
        planned = [a for a in files if a.status == PLANNED]

        def others(action: UndoAction) -> list[str]:
            found = [record["kf_id"] for step in (BS_LINKS, SE_LINKS) for record in
                     self.client.list_all(ENDPOINTS[step], {"genomic_file_id": action.kf_id})]
            return foreign_links(found, removable)

        outcomes = dict(zip([a.kf_id for a in planned],
                            self._each("GET links by genomic file", others, planned), strict=True))
        guarded = []
        for action in files:
            outcome = outcomes.get(action.kf_id)
            if outcome is not None and outcome.error is not None:
                action = _failed(action, f"could not read its links: {outcome.error}")
            elif outcome is not None and outcome.value:
                action = action.skip("has links this undo does not delete (deleting the file "
                                     f"would delete them too): {', '.join(outcome.value)}")
            guarded.append(action)
        return guarded

    def check_restorations(self, restorations: Sequence[Restoration]) -> list[UndoAction]:
        """GET each updated file: ``planned`` while it still holds what the run wrote."""
        outcomes = self._each("GET updated /genomic-files",
                              lambda r: self.client.get(ENDPOINTS[GENOMIC_FILES], r.kf_id),
                              restorations)
        actions = []
        for restoration, outcome in zip(restorations, outcomes, strict=True):
            action = UndoAction(GENOMIC_FILES, restoration.kf_id, "restore", PLANNED,
                                details={"external_id": restoration.external_id,
                                         "previous": restoration.previous})
            if outcome.error is not None:
                action = _failed(action, f"could not read it: {outcome.error}")
            elif reason := check_restoration(restoration, outcome.value):
                action = action.skip(reason)
            actions.append(action)
        return actions

    def snapshot_experiments(self) -> list[UndoAction]:
        """A planned re-creation, with the full record, of every experiment that has no link
        now, in any study. Raises when a page cannot be read: undo must not delete blind."""
        progress = Progress(self.log, "GET /sequencing-experiments (link-less snapshot)", None,
                            unit="experiments")

        # The window starts when the last page was asked for (before its answer): an
        # experiment created later is after that page's end in the list order.
        page_asked_at = [_now()]

        def on_page(rows: int, total: int | None) -> None:
            progress.set_total(total)
            progress.advance(rows - progress.done)
            page_asked_at.append(_now())

        records = self.client.list_all(EXPERIMENTS_ENDPOINT, {}, on_page=on_page)
        progress.finish()
        self.listed_at = page_asked_at[-2]
        found = link_less_experiments(records)
        self.log.info(f"{len(records)} sequencing experiments listed, {len(found)} without any "
                      "genomic-file link (the DataService sweeps them at undo's first "
                      "experiment-link delete)")
        return found

    # -- phase 2: write ---------------------------------------------------------------

    def write(self, actions: list[UndoAction], report_name: str = "the undo report"
              ) -> list[UndoAction]:
        """SE links, BS links, genomic files, restores, then swept experiments re-created;
        each ``done``, skipped or failed."""
        by_kind = {kind: [a for a in actions if (a.step, a.operation) == kind] for kind in
                   ((SE_LINKS, "delete"), (BS_LINKS, "delete"), (GENOMIC_FILES, "delete"),
                    (GENOMIC_FILES, "restore"), (EXPERIMENTS, "recreate"))}
        se = self._apply(by_kind[(SE_LINKS, "delete")], self._delete)
        bs = self._apply(by_kind[(BS_LINKS, "delete")], self._delete)
        files = keep_files_with_failed_links(by_kind[(GENOMIC_FILES, "delete")], se + bs)
        files = self._apply(files, self._delete)
        self.last_delete_at = _now()
        restored = self._apply(by_kind[(GENOMIC_FILES, "restore")], self._restore)
        experiments = self.recreate_swept(by_kind[(EXPERIMENTS, "recreate")], report_name)
        return se + bs + files + restored + experiments

    def recreate_swept(self, actions: list[UndoAction], report_name: str) -> list[UndoAction]:
        """GET each snapshotted experiment; re-POST each answering 404 under its own kf_id.

        A failure names the way to re-create it by hand from the persisted snapshot."""
        planned = [a for a in actions if a.status == PLANNED]
        outcomes = dict(zip([a.kf_id for a in planned],
                            self._each("re-create swept /sequencing-experiments", self._recreate,
                                       planned), strict=True))
        done = []
        for action in actions:
            outcome = outcomes.get(action.kf_id)
            if outcome is None:
                done.append(action)
            elif outcome.error is not None:
                done.append(_failed(action, f"not restored ({outcome.error}); to restore it: "
                                            f"{recreate_instructions(action.kf_id, report_name)}"))
            elif outcome.value:
                done.append(action.skip(outcome.value))
            else:
                done.append(replace(action, status=DONE,
                                    reason="swept by the DataService, re-created under its kf_id"))
        return done

    def _recreate(self, action: UndoAction) -> str:
        """"" when re-created exactly; why not touched when it still exists; raises otherwise."""
        if self.client.get(EXPERIMENTS_ENDPOINT, action.kf_id) is not None:
            return "still there after the deletes (not swept): nothing to restore"
        body = action.details["body"]
        created = recreate(self.client, EXPERIMENTS_ENDPOINT, body)
        if differs := check_recreated(body, created.record):
            raise ValueError(differs)
        return ""

    def _delete(self, action: UndoAction) -> None:
        self.client.delete(ENDPOINTS[action.step], action.kf_id)

    def _restore(self, action: UndoAction) -> None:
        self.client.update(ENDPOINTS[GENOMIC_FILES], action.kf_id, action.details["previous"])

    def _apply(self, actions: list[UndoAction],
               write: Callable[[UndoAction], None]) -> list[UndoAction]:
        planned = [a for a in actions if a.status == PLANNED]
        if not planned:
            return actions
        label = f"{planned[0].operation} {ENDPOINTS[planned[0].step]}"
        outcomes = dict(zip([a.kf_id for a in planned], self._each(label, write, planned),
                            strict=True))
        return [_written(a, outcomes[a.kf_id]) if a.kf_id in outcomes else a for a in actions]

    def _each(self, label: str, fn: Callable[[T], R], items: Sequence[T]) -> list[Outcome]:
        """``fn`` over ``items`` concurrently, with progress lines; Outcomes in input order."""
        if not items:
            return []
        progress = Progress(self.log, label, len(items), unit="requests")
        outcomes = self.client.run_concurrently(fn, items,
                                                on_progress=lambda done, total: progress.advance())
        progress.finish()
        return outcomes


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _failed(action: UndoAction, reason: str) -> UndoAction:
    return replace(action, status=FAILED, reason=reason)


def _written(action: UndoAction, outcome: Outcome[Any, Any]) -> UndoAction:
    error = outcome.error
    if error is None:
        return replace(action, status=DONE)
    if isinstance(error, DataServiceError) and error.status == 404:
        return action.skip("gone before undo could write it")
    return _failed(action, str(error))


def tally(actions: Sequence[UndoAction]) -> str:
    """``3 planned, 1 skipped`` for a log line."""
    counts: dict[str, int] = {}
    for action in actions:
        counts[action.status] = counts.get(action.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"

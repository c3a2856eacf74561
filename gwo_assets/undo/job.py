"""The ``undo_gwo`` job: take back what one ingest_gwo run wrote, from its report.

An op job rather than assets: undo changes the DataService but produces no data
asset of its own. Dry run by default, like ingest_gwo; the run fails (non-zero
exit code) when the report is refused or any delete/restore fails.
"""

import json
from pathlib import Path

from dagster import (
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    in_process_executor,
    job,
    op,
)
from pydantic import Field

from gwo_assets.errors import ConcurrentLoadError, DataServiceError
from gwo_assets.resources import study_lock
from gwo_assets.resources.dataservice import DataServiceResource, public_url
from gwo_assets.undo.apply import Undoer, tally
from gwo_assets.undo.files import read_report, read_results, undo_paths, write_undo_report
from gwo_assets.undo.plan import (
    EXPERIMENTS,
    FAILED,
    SKIPPED,
    UndoAction,
    UndoPlan,
    UndoRefused,
    can_sweep,
    plan_undo,
    summarize,
)

SNAPSHOT_LOG_CHUNK = 100  # experiments per run-log line of the persisted snapshot
LOST_SHOWN = 20  # unrestored experiments whose restore instructions the failure spells out


class UndoConfig(Config):
    """Which run to undo, and whether to write."""

    report: str = Field(description="Local path of the ingest run's report.json "
                                    "(<report_dir>/<run_id>/report.json).")
    dry_run: bool = Field(default=True, description="Check and report without writing; set "
                                                    "false explicitly to delete and restore.")


def load_plan(context: OpExecutionContext, report_path: Path, dataservice_url: str) -> UndoPlan:
    """The undo plan for the report; refuses a report of another DataService."""
    report = read_report(report_path)
    plan = plan_undo(report, read_results(report_path.parent))
    if plan.dataservice_url is not None and plan.dataservice_url != public_url(dataservice_url):
        raise UndoRefused(f"Run {plan.run_id} wrote to {plan.dataservice_url}, but the "
                          f"dataservice resource points at {public_url(dataservice_url)}")
    context.log.info(f"Undo of run {plan.run_id} (study {plan.study_id}, report status "
                     f"{report.get('status')}): {len(plan.deletions)} created records to delete, "
                     f"{len(plan.restorations)} updated files to restore")
    return plan


@op(description="Delete the links and genomic files an ingest run created and restore the "
                "files it updated, each only while it is still what the run left.")
def undo_ingest(context: OpExecutionContext, config: UndoConfig,
                dataservice: DataServiceResource) -> dict:
    report_path = Path(config.report).expanduser().resolve()
    try:
        plan = load_plan(context, report_path, dataservice.url)
        if not config.dry_run:  # never undo while an ingest of the same study writes
            study_lock.acquire(context.instance, plan.study_id, context.run_id)
    except (UndoRefused, ConcurrentLoadError) as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None
    try:
        return _undo(context, config, dataservice, report_path, plan)
    finally:
        study_lock.release(plan.study_id, context.run_id)


def _undo(context: OpExecutionContext, config: UndoConfig, dataservice: DataServiceResource,
          report_path: Path, plan: UndoPlan) -> dict:
    base = {"undo_run_id": context.run_id, "report": str(report_path), "run_id": plan.run_id,
            "study_id": plan.study_id, "dry_run": config.dry_run,
            "dataservice_url": public_url(dataservice.url)}
    with dataservice.get_client() as client:
        undoer = Undoer(client, context.log)
        actions = undoer.decide(plan)
        context.log.info(f"Checked against the stored state: {tally(actions)}")
        if can_sweep(actions):  # listed last, right before the first delete that can sweep
            try:
                actions += undoer.snapshot_experiments()
            except DataServiceError as error:
                message = (f"Could not list the sequencing experiments that undo's deletes would "
                           f"make the DataService sweep ({error}); nothing was written")
                context.log.error(message)
                raise Failure(description=message, allow_retries=False) from None
        if not config.dry_run:
            persist_snapshot(context, report_path, base, actions)
            # Links go before their files: a file whose DELETE fails is left without links,
            # and the next ingest finds it by external_id like any link-less file.
            actions = undoer.write(actions, undo_paths(report_path.parent, context.run_id)[0].name)
            context.log.info(f"Written: {tally(actions)}")
        requests = client.request_counts()
    counts = summarize(actions, config.dry_run)
    failed = sum(c["failed"] for c in counts.values())
    summary = {**base, "status": "failed" if failed else "success", "counts": counts,
               "experiment_sweep": sweep_summary(actions, undoer, config.dry_run),
               "dataservice_requests": requests}
    json_path, _, markdown = write_undo_report(report_path.parent, summary, actions)
    metadata = {
        "dry_run": MetadataValue.bool(config.dry_run),
        **{f"{step}_{key}": MetadataValue.int(n) for step, c in counts.items() for key, n in c.items()},
        "experiment_sweep": MetadataValue.json(summary["experiment_sweep"]),
        "dataservice_requests": MetadataValue.json(requests),
        "undo_json": MetadataValue.path(str(json_path)),
        "summary": MetadataValue.md(markdown),
    }
    skipped = [f"{a.kf_id}: {a.reason}" for a in actions
               if a.status == SKIPPED and a.step != EXPERIMENTS]
    if skipped:
        context.log.warning(f"{len(skipped)} record(s) left untouched (see {json_path.name}): "
                            + "; ".join(skipped[:3]))
    if failed:
        failures = [a for a in actions if a.status == FAILED]
        lost = [a for a in failures if a.step == EXPERIMENTS]
        shown = lost[:LOST_SHOWN] + [a for a in failures if a.step != EXPERIMENTS][:3]
        message = (f"{failed} undo write(s) or read(s) failed (rerun the undo to retry"
                   + (f"; {len(lost)} experiment(s) of other loaders the DataService swept are "
                      f"NOT restored ({', '.join(a.kf_id for a in lost)}), the first "
                      f"{min(len(lost), LOST_SHOWN)} below with how to restore each, all in "
                      f"{json_path.name}" if lost else "")
                   + "): " + "; ".join(f"{a.kf_id}: {a.reason}" for a in shown))
        context.log.error(message)
        raise Failure(description=message, metadata=metadata, allow_retries=False)
    context.log.info(f"Undo {'dry run' if config.dry_run else 'done'}: {counts}. "
                     f"Report: {json_path}")
    context.add_output_metadata(metadata)
    return summary


def persist_snapshot(context: OpExecutionContext, report_path: Path, base: dict,
                     actions: list[UndoAction]) -> None:
    """Before the first delete: the undo report (status ``writing``) and the run's event log
    hold every link-less experiment's full record, so a killed undo can be recovered by hand
    (README: *Undo*). Raises, and nothing is deleted, when the report cannot be written."""
    snapshot = [a for a in actions if a.step == EXPERIMENTS]
    if not snapshot:
        return
    json_path, _, _ = write_undo_report(report_path.parent, {
        **base, "status": "writing", "counts": summarize(actions, dry_run=True),
        "experiment_sweep": {"link_less": len(snapshot)}}, actions)
    context.log.warning(
        f"{len(snapshot)} sequencing experiment(s) of unknown studies have no genomic-file link: "
        "the DataService deletes them at undo's first experiment-link delete, and undo "
        f"re-creates them after its deletes. Their records are in {json_path} and below; if "
        "this undo dies before it ends, re-create each one that answers 404 from them.")
    for start in range(0, len(snapshot), SNAPSHOT_LOG_CHUNK):
        chunk = snapshot[start:start + SNAPSHOT_LOG_CHUNK]
        context.log.info(f"Link-less experiment snapshot {start + 1}-{start + len(chunk)} of "
                         f"{len(snapshot)}: " + json.dumps([a.details["body"] for a in chunk]))


def sweep_summary(actions: list[UndoAction], undoer: Undoer, dry_run: bool) -> dict:
    """What happens (dry run) or happened to link-less experiments, and the unseen window."""
    experiments = [a for a in actions if a.step == EXPERIMENTS]
    by_status: dict[str, list[str]] = {}
    for action in experiments:
        by_status.setdefault(action.status, []).append(action.kf_id)
    summary: dict = {"link_less": len(experiments), "by_status": by_status,
                     "study": "unknown: the API ties experiments to studies only through links"}
    if undoer.listed_at is None:
        summary["note"] = "no delete of this undo can sweep experiments: none were listed"
    elif not dry_run and undoer.last_delete_at is not None:
        summary["unseen_window"] = {"from": undoer.listed_at, "to": undoer.last_delete_at,
                                    "note": "an experiment created in this window and not "
                                            "linked by its end may have been swept unseen"}
    return summary


@job(executor_def=in_process_executor,
     description="Undo one ingest_gwo run from its report.json: delete what it created, "
                 "restore what it updated (dry run unless dry_run: false).")
def undo_gwo() -> None:
    undo_ingest()

"""The ``undo_gwo`` job: take back what one ingest_gwo run wrote, from its report.

An op job rather than assets: undo changes the DataService but produces no data
asset of its own. Dry run by default, like ingest_gwo; the run fails (non-zero
exit code) when the report is refused or any delete/restore fails.
"""

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

from gwo_assets.errors import ConcurrentLoadError
from gwo_assets.resources import study_lock
from gwo_assets.resources.dataservice import DataServiceResource, public_url
from gwo_assets.undo.apply import Undoer, tally
from gwo_assets.undo.files import read_report, read_results, write_undo_report
from gwo_assets.undo.plan import FAILED, SKIPPED, UndoPlan, UndoRefused, plan_undo, summarize


class UndoConfig(Config):
    """Which run to undo, and whether to write."""

    report: str = Field(description="Local path of the ingest run's report.json "
                                    "(<report_dir>/<run_id>/report.json).")
    dry_run: bool = Field(default=True, description="Check and report without writing; set "
                                                    "false explicitly to delete and restore.")
    lock_dir: str = Field(default="", description="Only for a SQLite instance: directory of the "
                                                  "per-study load locks (the same as "
                                                  "ingest.lock_dir).")


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
            study_lock.acquire(context.instance, config.lock_dir, plan.study_id, context.run_id)
    except (UndoRefused, ConcurrentLoadError) as error:
        context.log.error(str(error))
        raise Failure(description=str(error), allow_retries=False) from None
    try:
        return _undo(context, config, dataservice, report_path, plan)
    finally:
        study_lock.release(plan.study_id, context.run_id)


def _undo(context: OpExecutionContext, config: UndoConfig, dataservice: DataServiceResource,
          report_path: Path, plan: UndoPlan) -> dict:
    with dataservice.get_client() as client:
        undoer = Undoer(client, context.log)
        actions = undoer.decide(plan)
        context.log.info(f"Checked against the stored state: {tally(actions)}")
        if not config.dry_run:
            # Links go before their files: a file whose DELETE fails is left without links,
            # and the next ingest finds it by external_id like any link-less file.
            actions = undoer.write(actions)
            context.log.info(f"Written: {tally(actions)}")
        requests = client.request_counts()
    counts = summarize(actions, config.dry_run)
    failed = sum(c["failed"] for c in counts.values())
    summary = {"undo_run_id": context.run_id, "report": str(report_path), "run_id": plan.run_id,
               "study_id": plan.study_id, "dry_run": config.dry_run,
               "status": "failed" if failed else "success",
               "dataservice_url": public_url(dataservice.url), "counts": counts,
               "dataservice_requests": requests}
    json_path, _, markdown = write_undo_report(report_path.parent, summary, actions)
    metadata = {
        "dry_run": MetadataValue.bool(config.dry_run),
        **{f"{step}_{key}": MetadataValue.int(n) for step, c in counts.items() for key, n in c.items()},
        "dataservice_requests": MetadataValue.json(requests),
        "undo_json": MetadataValue.path(str(json_path)),
        "summary": MetadataValue.md(markdown),
    }
    skipped = [f"{a.kf_id}: {a.reason}" for a in actions if a.status == SKIPPED]
    if skipped:
        context.log.warning(f"{len(skipped)} record(s) left untouched (see {json_path.name}): "
                            + "; ".join(skipped[:3]))
    if failed:
        first = "; ".join([f"{a.kf_id}: {a.reason}" for a in actions if a.status == FAILED][:3])
        message = f"{failed} undo write(s) or read(s) failed (rerun the undo to retry): {first}"
        context.log.error(message)
        raise Failure(description=message, metadata=metadata, allow_retries=False)
    context.log.info(f"Undo {'dry run' if config.dry_run else 'done'}: {counts}. "
                     f"Report: {json_path}")
    context.add_output_metadata(metadata)
    return summary


@job(executor_def=in_process_executor,
     description="Undo one ingest_gwo run from its report.json: delete what it created, "
                 "restore what it updated (dry run unless dry_run: false).")
def undo_gwo() -> None:
    undo_ingest()

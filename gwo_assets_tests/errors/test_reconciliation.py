"""Reconciliation (check 4): the read-back fails when the DataService is altered behind the
pipeline's back between the last write and the read-back.

The real ``ingest_gwo`` job runs with one extra Dagster success hook (``with_hooks`` keeps the
job's own hooks): after the last load step (``sequencing_experiment_genomic_files``) and
before the ``load_matches_plan`` step, it changes the sandbox with plain HTTP the way another
client could: PATCHes a file this run wrote, deletes a link it created, adds a link nobody
planned. Nothing of the product is patched.

Files: the DNA outputs of the first participant (other modules load other files).
"""

import pandas as pd
import requests
from dagster import DagsterInstance, HookContext, success_hook

from gwo_assets.definitions import defs
from gwo_assets_tests.errors import (check_evaluations, failure_messages, file_rows, has_issue,
                                     offending_rows, read_report, step_events, write_manifest)
from gwo_assets_tests.support import execute_ingest, link_id, list_all, run_config, stored_files

LAST_LOAD_STEP = "sequencing_experiment_genomic_files"


def run_with_hook(info: dict, report_dir, manifest, hook) -> object:
    job = defs.resolve_job_def("ingest_gwo").with_hooks({hook})
    return execute_ingest(
        job, run_config(info, dry_run=False, report_dir=report_dir, manifest=str(manifest)),
        DagsterInstance.ephemeral())


def one_file(url: str, external_id: str) -> dict:
    files = stored_files(url, external_id)
    assert len(files) == 1, external_id
    return files[0]


def biospecimen_links(url: str, genomic_file_id: str) -> list[dict]:
    return list_all(url, "/biospecimen-genomic-files", genomic_file_id=genomic_file_id)


def test_a_change_behind_the_pipelines_back_fails_the_read_back_and_names_the_record(
        stack, facts, tmp_path):
    url = stack.info["dataservice_url"]
    participant = facts.multi.participant.kf_id
    rna = {h.filepath for h in facts.outputs(strategy="RNA-Seq")}
    outputs = [h for h in facts.participant_outputs(participant) if h.filepath not in rna]
    single = [h for h in outputs if len(h.biospecimens) == 1]
    patched, extra_linked = single[0], single[1]
    # A file with two biospecimens keeps one link, so it stays visible to the study read
    # (a file with no biospecimen link is invisible to GET ?study_id=: see docs/errors.md).
    unlinked = next(h for h in outputs if len(h.biospecimens) == 2)
    stranger = next(b for b in stack.study.plan.biospecimens
                    if b.participant.kf_id == participant
                    and b.kf_id != extra_linked.biospecimens[0].kf_id)
    rows = [row for harmonized in outputs for row in file_rows(harmonized)]
    manifest = write_manifest(tmp_path / "reconcile.tsv", rows)
    altered: dict[str, object] = {}

    @success_hook(name="alter_the_dataservice_behind_the_pipelines_back")
    def alter(context: HookContext) -> None:
        if context.step_key != LAST_LOAD_STEP:
            return
        record = one_file(url, patched.filepath)
        altered["size"] = record["size"]
        requests.patch(f"{url}/genomic-files/{record['kf_id']}", json={"size": record["size"] + 1},
                       timeout=10).raise_for_status()
        link = biospecimen_links(url, one_file(url, unlinked.filepath)["kf_id"])[0]
        assert len(biospecimen_links(url, one_file(url, unlinked.filepath)["kf_id"])) == 2
        altered["unlinked"] = link_id(link, "biospecimen")
        requests.delete(f"{url}/biospecimen-genomic-files/{link['kf_id']}",
                        timeout=10).raise_for_status()
        created = requests.post(f"{url}/biospecimen-genomic-files", json={
            "genomic_file_id": one_file(url, extra_linked.filepath)["kf_id"],
            "biospecimen_id": stranger.kf_id}, timeout=10)
        created.raise_for_status()
        altered["extra"] = created.json()["results"]["kf_id"]

    reports = tmp_path / "reports"
    result = run_with_hook(stack.info, reports, manifest, alter)

    assert set(altered) == {"size", "unlinked", "extra"}  # the hook ran, after the last write
    assert not result.success
    evaluation = check_evaluations(result)["load_matches_plan"]
    assert not evaluation.passed and evaluation.blocking and evaluation.severity.value == "ERROR"
    assert evaluation.description == (
        "Read-back reconciliation: 3 error(s); the writes are done: follow each record's "
        "suggestion (a rerun fixes missing or changed records, never duplicates)")
    assert "ingest_report" not in step_events(result, "STEP_START")
    assert set(failure_messages(result)) == {f"{LAST_LOAD_STEP}_load_matches_plan"}

    rows = offending_rows(result)
    assert len(rows) == 3, rows.to_dict("records")
    assert has_issue(rows, check="genomic_files:file_field", column="size",
                     value=f"{patched.filepath}: {altered['size'] + 1}", expected=altered["size"])
    assert has_issue(rows, check="biospecimen_genomic_files:link_count", column="biospecimen_id",
                     value=f"{unlinked.filepath}: {altered['unlinked']} x0",
                     expected="exactly one link")
    assert has_issue(rows, check="biospecimen_genomic_files:unexpected_record", column="kf_id",
                     value=altered['extra'])

    report = read_report(reports, result.run_id)
    assert report["status"] == "failed"
    assert report["stopped_at"] == f"{LAST_LOAD_STEP}_load_matches_plan"
    assert report["steps"]["genomic_files"]["create"] == len(outputs)  # the writes did happen
    [check] = [c for c in report["checks"] if c["name"] == "load_matches_plan"]
    assert not check["passed"]
    assert len(pd.read_csv(check["offending_rows_csv"], dtype=str)) == 3

    # The fix the message suggests: rerun. It converges (size PATCHed back, link recreated);
    # the extra link is not the pipeline's to remove and stays.
    rerun = run_with_hook(stack.info, reports, manifest, success_hook(name="noop")(lambda _: None))
    assert rerun.success, failure_messages(rerun)
    assert one_file(url, patched.filepath)["size"] == altered["size"]
    relinked = biospecimen_links(url, one_file(url, unlinked.filepath)["kf_id"])
    assert sorted(link_id(link, "biospecimen") for link in relinked) == sorted(
        b.kf_id for b in unlinked.biospecimens)
    extra = biospecimen_links(url, one_file(url, extra_linked.filepath)["kf_id"])
    assert altered["extra"] in {link["kf_id"] for link in extra}

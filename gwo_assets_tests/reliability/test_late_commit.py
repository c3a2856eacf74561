"""A DataService that commits a POST after its gateway (or our read timeout) gave up.

Reproduces issue 19's first case: the client hears 504 (or nothing) at once, finds
nothing when it looks, re-sends, and seconds later the first request commits too.
Before creates carried a chosen kf_id, 3 of 8 files ended up registered twice with
exit 0. Every assertion reads the sandbox's stored state: at the moment the run
exits, after every late commit has landed, and after a rerun.
"""

import pytest
import pandas as pd

from gwo_assets.resources import creates
from gwo_assets.resources.creates import Created
from gwo_assets.sandbox.dataservice import FaultConfig
from gwo_assets_tests.assets.test_ingest_job import assert_study_loaded
from gwo_assets_tests.reliability.conftest import assert_no_duplicates
from gwo_assets_tests.support import post_orphan, report_json, run_ingest


def _new_file_posts(stack) -> int:
    return stack.dataservice.request_counts().get("POST /genomic-files", 0)


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
def test_504_now_and_commit_seconds_later_leaves_one_record_per_file(make_stack, tmp_path):
    stack = make_stack(seed=19, specimens=6)
    files = len(stack.study.harmonized)
    stack.dataservice.reset_counts()
    stack.dataservice.set_faults(FaultConfig(late_commit_rate=0.4, late_commit_seconds=2.0,
                                             methods=("POST",), seed=5))

    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)

    assert result.success
    assert _new_file_posts(stack) > files, "no POST was answered 504: the fault did not happen"
    assert_no_duplicates(stack)  # at the moment the run exits
    stack.dataservice.wait_for_late_commits()
    stack.dataservice.set_faults(None)
    assert_no_duplicates(stack)  # and once every late commit has landed
    assert_study_loaded(stack)

    rerun = run_ingest(stack.info, tmp_path / "reports", dry_run=False)
    assert rerun.success
    assert report_json(tmp_path / "reports", rerun.run_id)["kf_ids"]["genomic_files"] == {
        "created": [], "updated": []}
    assert_study_loaded(stack)


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
def test_a_read_timeout_shorter_than_the_commit_never_makes_a_second_record(make_stack,
                                                                             tmp_path):
    """Sandbox POST latency 1.5 s, client read timeout 1 s: every POST is answered too late."""
    stack = make_stack(seed=23, specimens=4)
    stack.dataservice.set_faults(FaultConfig(latency_ms=1500, methods=("POST",)))

    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False,
                        dataservice={"read_timeout": 1})

    assert result.success
    assert_no_duplicates(stack)
    stack.dataservice.set_faults(None)
    assert_study_loaded(stack)


def test_the_read_back_sees_a_linkless_second_record_beside_an_uncertain_create(
        stack, tmp_path, monkeypatch):
    """Another writer's link-less twin appears beside a file whose POST answer was unclear:
    the study read cannot see it, the read-back must, and it names both kf_ids."""
    twins: dict[str, str] = {}
    first = stack.study.harmonized[0].filepath
    real_create = creates.create_genomic_file

    def create_then_twin(client, body):
        created = real_create(client, body)
        if body["external_id"] == first:
            twins[first] = post_orphan(stack.info["dataservice_url"], first)
        return Created(created.record, uncertain=1)

    monkeypatch.setattr("gwo_assets.assets.load.create_genomic_file", create_then_twin)

    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)

    assert not result.success
    [check] = [c for c in result.get_asset_check_evaluations()
               if c.check_name == "load_matches_plan"]
    assert not check.passed
    [(external_id, twin)] = twins.items()
    problems = pd.read_csv(check.metadata["all_rows_csv"].value)
    [row] = problems[problems["check"] == "genomic_files:file_count"].to_dict("records")
    assert external_id in row["value"] and twin in row["suggestion"]
    assert "undo_gwo" in row["suggestion"]


def test_a_rerun_without_unclear_answers_adds_no_lookup_to_the_read_back(stack, tmp_path):
    """Nothing the study read misses, no unclear answer: the read-back's cost stays flat."""
    assert run_ingest(stack.info, tmp_path / "reports", dry_run=False).success
    stack.dataservice.reset_counts()
    rerun = run_ingest(stack.info, tmp_path / "reports", dry_run=False)
    assert rerun.success
    counts = stack.dataservice.request_counts()
    # a rerun with nothing to do: study read + read-back pages only
    assert counts["GET /genomic-files"] == 2

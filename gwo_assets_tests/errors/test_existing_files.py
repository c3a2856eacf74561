"""Other tools' leftovers in the DataService: reuse what is this study's or nobody's, never
another study's, and never add to a Filepath registered twice.

Each case builds the leftover straight through the sandbox API (as another loader would),
runs ingest_gwo with the default config, and asserts the sandbox's stored state.
"""

from pathlib import Path

import pytest
import requests

from gwo_assets.sandbox.dataservice import FaultConfig
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.assets.test_ingest_job import assert_study_loaded
from gwo_assets_tests.support import (list_all, post_orphan, register_in_other_study,
                                      run_ingest, stored_files, stored_link_pairs, stored_record)


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=4, seed=41, workdir=tmp_path / "sandbox") as running:
        yield running


def failed_check(result, name: str):
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    assert evaluations, f"{name} did not run"
    return evaluations[0]


def offending_rows(evaluation) -> str:
    """The check's full CSV of offending rows (the inline table cuts long cells)."""
    return Path(evaluation.metadata["all_rows_csv"].value).read_text()


def test_a_file_of_another_study_stops_the_run_before_any_write(stack, tmp_path):
    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    other = register_in_other_study(url, target.filepath)
    before = stored_record(url, "/genomic-files", other["genomic_file_id"])
    stack.dataservice.reset_counts()

    dry = run_ingest(stack.info, tmp_path / "dry", dry_run=True)
    real = run_ingest(stack.info, tmp_path / "real", dry_run=False)

    assert not dry.success and not real.success
    assert stack.dataservice.write_count() == 0
    for result in (dry, real):
        evaluation = failed_check(result, "existing_files_are_reusable")
        assert not evaluation.passed
        rows = offending_rows(evaluation)
        assert other["genomic_file_id"] in rows and other["study_id"] in rows
        assert stack.info["study_id"] in rows
    assert stored_record(url, "/genomic-files", other["genomic_file_id"]) == before
    assert [f["kf_id"] for f in stored_files(url, target.filepath)] == [other["genomic_file_id"]]


def test_with_skip_invalid_rows_the_rest_loads_and_the_other_studys_file_is_untouched(stack,
                                                                                      tmp_path):
    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    other = register_in_other_study(url, target.filepath)
    before = stored_record(url, "/genomic-files", other["genomic_file_id"])
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, skip_invalid_rows=True)
    assert result.success
    assert stored_record(url, "/genomic-files", other["genomic_file_id"]) == before
    assert stored_link_pairs(url, "/biospecimen-genomic-files", "biospecimen",
                             other["genomic_file_id"]) == [other["biospecimen_id"]]
    for harmonized in stack.study.harmonized[1:]:
        assert len(stored_files(url, harmonized.filepath)) == 1


def test_a_filepath_registered_twice_is_never_added_to(stack, tmp_path):
    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    twins = sorted([post_orphan(url, target.filepath), post_orphan(url, target.filepath)])
    twin_records = [stored_record(url, "/genomic-files", kf_id) for kf_id in twins]
    stack.dataservice.reset_counts()

    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)

    assert not result.success
    assert stack.dataservice.write_count() == 0
    evaluation = failed_check(result, "existing_files_are_reusable")
    assert all(kf_id in offending_rows(evaluation) for kf_id in twins)

    skipped = run_ingest(stack.info, tmp_path / "reports", dry_run=False, skip_invalid_rows=True)
    assert skipped.success
    assert sorted(f["kf_id"] for f in stored_files(url, target.filepath)) == twins
    assert [stored_record(url, "/genomic-files", kf_id) for kf_id in twins] == twin_records
    for kf_id in twins:
        assert list_all(url, "/biospecimen-genomic-files", genomic_file_id=kf_id) == []


def test_a_lost_post_answer_resolves_to_the_file_that_post_created(stack, tmp_path):
    """Even with the look-ups switched off (so the plan does not know of the other study's
    file with the same external_id), a POST whose answer is lost is resolved to the record
    it created, never to the other study's; and the read-back, which looks every unclear
    create up by external_id, names the other study's record as a second one."""
    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    other = register_in_other_study(url, target.filepath)
    before = stored_record(url, "/genomic-files", other["genomic_file_id"])
    stack.dataservice.set_faults(FaultConfig(lost_response_rate=1.0, methods=("POST",)))

    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False,
                        unsafe_skip_external_id_lookups=True)

    stack.dataservice.set_faults(None)
    assert stored_record(url, "/genomic-files", other["genomic_file_id"]) == before
    assert stored_link_pairs(url, "/biospecimen-genomic-files", "biospecimen",
                             other["genomic_file_id"]) == [other["biospecimen_id"]]
    ours = [f for f in stored_files(url, target.filepath) if f["kf_id"] != other["genomic_file_id"]]
    assert len(ours) == 1
    linked = stored_link_pairs(url, "/biospecimen-genomic-files", "biospecimen", ours[0]["kf_id"])
    assert sorted(linked) == sorted(b.kf_id for b in target.biospecimens)
    assert not result.success
    rows = offending_rows(failed_check(result, "load_matches_plan"))
    assert "file_count" in rows and other["genomic_file_id"] in rows
    assert "unexpected_record" not in rows  # named once, as the second record, not as noise


def test_a_linkless_file_is_reused_by_a_dry_run_plan_too(stack, tmp_path):
    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    orphan = post_orphan(url, target.filepath)
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=True)
    assert result.success
    plan = result.output_for_node("genomic_files_plan")
    row = plan[plan["external_id"] == target.filepath].iloc[0]
    assert (row["action"], row["kf_id"]) == ("update", orphan)
    assert run_ingest(stack.info, tmp_path / "reports", dry_run=False).success
    assert assert_study_loaded(stack)[target.filepath] == orphan


def test_a_study_file_also_linked_to_another_study_is_never_patched_or_linked(stack, tmp_path):
    """The study read returns a file (it has one of this study's links), but it is also linked
    to another study's biospecimen: a run that would PATCH it stops before any write."""
    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    assert run_ingest(stack.info, tmp_path / "first", dry_run=False).success
    [ours] = stored_files(url, target.filepath)
    other = register_in_other_study(url, "s3://elsewhere/unrelated.cram")
    assert requests.post(f"{url}/biospecimen-genomic-files", timeout=10, json={
        "biospecimen_id": other["biospecimen_id"], "genomic_file_id": ours["kf_id"]}).ok
    assert requests.patch(f"{url}/genomic-files/{ours['kf_id']}", timeout=10,
                          json={"size": 1}).ok  # so the next run would PATCH it back
    before = stored_record(url, "/genomic-files", ours["kf_id"])
    stack.dataservice.reset_counts()

    result = run_ingest(stack.info, tmp_path / "second", dry_run=False)

    assert not result.success
    assert stack.dataservice.write_count() == 0
    evaluation = failed_check(result, "existing_files_are_reusable")
    assert ours["kf_id"] in offending_rows(evaluation)
    assert other["study_id"] in offending_rows(evaluation)
    assert stored_record(url, "/genomic-files", ours["kf_id"]) == before


def test_a_second_record_beside_a_study_file_is_reported_when_the_run_would_write(stack,
                                                                                  tmp_path):
    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    assert run_ingest(stack.info, tmp_path / "first", dry_run=False).success
    [ours] = stored_files(url, target.filepath)
    twin = post_orphan(url, target.filepath)
    assert requests.patch(f"{url}/genomic-files/{ours['kf_id']}", timeout=10,
                          json={"size": 1}).ok
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "second", dry_run=False)
    assert not result.success and stack.dataservice.write_count() == 0
    rows = offending_rows(failed_check(result, "existing_files_are_reusable"))
    assert ours["kf_id"] in rows and twin in rows


def test_a_lost_post_never_resolves_to_another_studys_record_with_the_same_body(stack):
    """Every POST answer is lost, and another study holds a record whose fields equal our
    body: the create resolves by its own chosen kf_id only, never to that record."""
    from gwo_assets.resources.creates import create_genomic_file
    from gwo_assets.resources.dataservice import DataServiceResource

    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    other = register_in_other_study(url, target.filepath)
    before = stored_record(url, "/genomic-files", other["genomic_file_id"])
    body = {key: value for key, value in before.items()
            if key in ("external_id", "urls", "hashes", "size", "is_harmonized",
                       "controlled_access", "authz")}
    stack.dataservice.set_faults(FaultConfig(lost_response_rate=1.0, methods=("POST",)))
    with DataServiceResource(url=url).get_client() as client:
        created = create_genomic_file(client, body)
    stack.dataservice.set_faults(None)

    assert created.uncertain == 1 and created.record["kf_id"] != other["genomic_file_id"]
    assert stored_record(url, "/genomic-files", other["genomic_file_id"]) == before
    assert sorted(f["kf_id"] for f in stored_files(url, target.filepath)) == sorted(
        [other["genomic_file_id"], created.record["kf_id"]])

"""A dry run shows every problem at once (issue 12, item 4); a real run still stops at the
first blocking check and writes nothing.

One manifest with problems of three classes, each on a file of its own beside a valid
file: a Data Type typo (manifest format), a biospecimen not in the study (DataService
consistency) and a Filepath with no S3 object (S3). Nothing of it is written, so the files
may be any of the study's.
"""

from types import SimpleNamespace

import pandas as pd
from dagster import AssetKey, DagsterInstance

from gwo_assets.assets.report import record_failed_report

from gwo_assets_tests.errors import (check_evaluations, failure_messages, file_rows, has_issue,
                                     offending_rows, read_report, step_events, write_manifest)
from gwo_assets_tests.errors.conftest import BUCKET
from gwo_assets_tests.support import run_ingest

WRITE_STEPS = {"genomic_files", "biospecimen_genomic_files", "sequencing_experiment_genomic_files"}
MANIFEST_CHECK_STEP = "gwo_manifest_manifest_is_well_formed"
# Every check a dry run evaluates although an earlier one failed (the read-back checks after
# the loads do not run: a dry run loads nothing).
LATER_CHECKS = {"harmonized_files_exist_in_s3", "manifest_matches_dataservice",
                "existing_files_are_reusable", "no_file_more_open_than_sources",
                "genomic_file_payload_suite", "biospecimen_link_payload_suite",
                "experiment_link_payload_suite", "plan_is_approved"}


def three_class_manifest(facts, tmp_path):
    """(manifest path, the valid file's path, {class: (row, column, value)})."""
    valid, typo, stranger, missing = facts.outputs(facts.other)[:1] + facts.outputs()[:3]
    unknown = facts.unknown_kf_id("BS")
    missing_path = f"s3://{BUCKET}/harmonized/missing/{facts.multi.kf_id}.not-uploaded.cram"
    rows = file_rows(valid)
    groups = [file_rows(typo, data_type="gvcf"),
              file_rows(stranger, biospecimen_id=unknown),
              file_rows(missing, filepath=missing_path)]
    first = []
    for group in groups:
        first.append(len(rows) + 2)
        rows += group
    expected = {
        "manifest format": ("manifest_is_well_formed", "enum_value", first[0], "Data Type", "gvcf"),
        "DataService consistency": ("manifest_matches_dataservice", "biospecimen_not_in_study",
                                    first[1], "KF Biospecimen ID", unknown),
        "S3": ("harmonized_files_exist_in_s3", "s3_object_missing", first[2], "Filepath",
               missing_path),
    }
    return write_manifest(tmp_path / "three-classes.tsv", rows), valid.filepath, expected


def run_unsuccessfully_without_writes(stack, facts, tmp_path, *, dry_run: bool):
    """Run the three-class manifest: the run fails and the DataService receives no write."""
    manifest, valid_path, expected = three_class_manifest(facts, tmp_path)
    stack.dataservice.reset_counts()
    instance = DagsterInstance.ephemeral()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=dry_run,
                        manifest=str(manifest), instance=instance)
    assert not result.success
    assert stack.dataservice.write_count() == 0
    return result, instance, valid_path, expected


def test_one_dry_run_reports_problems_of_three_classes_and_fails(stack, facts, tmp_path):
    reports = tmp_path / "reports"
    result, instance, valid_path, expected = run_unsuccessfully_without_writes(
        stack, facts, tmp_path, dry_run=True)

    # Every check ran; the failing ones are WARN (nothing blocked) yet count as errors.
    evaluations = check_evaluations(result)
    assert LATER_CHECKS <= set(evaluations)
    failed = {name for name, e in evaluations.items() if not e.passed}
    assert failed == {check for check, *_ in expected.values()}
    for name in failed:
        assert evaluations[name].severity.value == "WARN", name
        assert evaluations[name].metadata["blocks_real_run"].value is True, name
        assert evaluations[name].metadata["errors"].value >= 1, name
        assert "a real run would stop here and write nothing" in evaluations[name].description
    offending = offending_rows(result)
    for check, rule, row, column, value in expected.values():
        assert has_issue(offending, dagster_check=check, check=rule, row=row, column=column,
                         value=value), (check, offending.to_dict("records"))
    # Each problem is reported by the check that owns it: the typo and the missing object
    # once; the unknown biospecimen also makes its Source Read another sample's.
    errors = offending[offending["severity"] == "error"]
    assert sorted(zip(errors["dagster_check"], errors["row"].astype(int))) == sorted(
        [(check, row) for check, _, row, *_ in expected.values()]
        + [("manifest_matches_dataservice", expected["DataService consistency"][2])])
    # The files with errors are left out of the plans; the valid file is planned.
    plan = result.output_for_node("genomic_files_plan")
    assert set(plan["external_id"]) == {valid_path}
    # The run fails at its end, naming the checks; the load steps ran as dry runs.
    messages = failure_messages(result)
    assert set(messages) == {"ingest_report"}
    assert all(name in messages["ingest_report"] for name in failed)
    assert f"would stop at {MANIFEST_CHECK_STEP} and write nothing" in messages["ingest_report"]

    report = read_report(reports, result.run_id)
    assert (report["dry_run"], report["status"]) == (True, "failed")
    assert report["real_run_stops_at"] == MANIFEST_CHECK_STEP
    assert {c["check"] for c in report["blocking_problems"]} == failed
    groups = {group["class"]: group for group in report["problems"]}
    assert set(groups) == set(expected)
    for name, (check, rule, row, column, value) in expected.items():
        assert {p["row"] for p in groups[name]["problems"]} == {row}
        [problem] = [p for p in groups[name]["problems"] if p["check"] == rule]
        assert (problem["dagster_check"], problem["column"], problem["value"]) == (
            check, column, value)
        assert problem["fix"], problem
    assert [g["class"] for g in report["problems"]] == ["manifest format",
                                                        "DataService consistency", "S3"]
    markdown = (reports / result.run_id / "report.md").read_text()
    assert "## Problems by class" in markdown
    assert f"A real run stops at `{MANIFEST_CHECK_STEP}` and writes nothing." in markdown
    for name, (*_, value) in expected.items():
        assert f"### {name}: " in markdown and value in markdown
    assert "did you mean 'gVCF'?" in markdown

    # The failed run's report is on ingest_report's page in the UI, not only in a log line.
    event = instance.get_latest_materialization_event(AssetKey("ingest_report"))
    metadata = event.asset_materialization.metadata
    assert metadata["run"].value == result.run_id
    assert metadata["status"].value == "failed" and metadata["dry_run"].value is True
    assert "## Problems by class" in metadata["report"].value
    assert expected["S3"][-1] in metadata["report"].value


def test_the_same_manifest_in_a_real_run_stops_at_the_first_blocking_check(stack, facts,
                                                                          tmp_path):
    reports = tmp_path / "reports"
    result, instance, _, expected = run_unsuccessfully_without_writes(
        stack, facts, tmp_path, dry_run=False)

    assert not WRITE_STEPS & step_events(result, "STEP_START")
    evaluations = check_evaluations(result)
    assert {name for name, e in evaluations.items() if not e.passed} == {"manifest_is_well_formed"}
    assert evaluations["manifest_is_well_formed"].severity.value == "ERROR"
    # The S3 scrape and everything after the manifest check never ran.
    assert "harmonized_files_exist_in_s3" not in evaluations
    assert "manifest_matches_dataservice" not in evaluations
    assert set(failure_messages(result)) == {MANIFEST_CHECK_STEP}

    report = read_report(reports, result.run_id)
    assert (report["status"], report["stopped_at"], report["real_run_stops_at"]) == (
        "failed", MANIFEST_CHECK_STEP, MANIFEST_CHECK_STEP)
    assert [g["class"] for g in report["problems"]] == ["manifest format"]
    # A failed real run's report is recorded on ingest_report too.
    event = instance.get_latest_materialization_event(AssetKey("ingest_report"))
    assert event.asset_materialization.metadata["run"].value == result.run_id
    assert "gvcf" in event.asset_materialization.metadata["report"].value


def test_a_dry_run_of_a_clean_manifest_still_succeeds_and_reports_no_problems(stack, facts,
                                                                             tmp_path):
    rows = file_rows(facts.outputs(facts.other)[0])
    manifest = write_manifest(tmp_path / "clean.tsv", rows)
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=True, manifest=str(manifest))
    assert result.success, failure_messages(result)
    report = read_report(tmp_path / "reports", result.run_id)
    assert (report["status"], report["problems"], report["real_run_stops_at"]) == (
        "success", [], None)
    assert pd.notna(report["run_id"])


def test_a_dry_run_whose_every_file_has_an_error_still_evaluates_every_check(stack, facts,
                                                                             tmp_path):
    """Nothing left to plan: the plan checks run on empty plans, the run fails at its end."""
    manifest = write_manifest(tmp_path / "all-bad.tsv",
                              file_rows(facts.outputs()[0], data_type="gvcf"))
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=True, manifest=str(manifest))
    assert not result.success
    assert set(failure_messages(result)) == {"ingest_report"}
    evaluations = check_evaluations(result)
    assert LATER_CHECKS <= set(evaluations)
    assert {name for name, e in evaluations.items() if not e.passed} == {"manifest_is_well_formed"}
    assert result.output_for_node("genomic_files_plan").empty


def test_a_failed_runs_report_is_recorded_on_the_runs_study_partition():
    """Runs of a study partition (tag ``dagster/partition``) record the failed report on it."""

    class Instance:
        events: list = []

        def get_run_by_id(self, run_id):
            return SimpleNamespace(tags={"dagster/partition": "SD_AAAAAAAA"})

        def report_runless_asset_event(self, event):
            self.events.append(event)

    instance = Instance()
    report = {"folder": "/reports/r1", "status": "failed", "dry_run": True,
              "stopped_at": "ingest_report"}
    record_failed_report(instance, "r1", report, "# GWO ingest report: FAILED\n")
    [event] = instance.events
    assert (event.asset_key, event.partition) == (AssetKey("ingest_report"), "SD_AAAAAAAA")
    assert event.metadata["report"].value.startswith("# GWO ingest report: FAILED")

"""Issue 23: the drift audit against the sandbox and moto.

A loaded study, then one object deleted, one re-uploaded with new bytes, one moved to
GLACIER, one made unreadable: the audit classifies exactly those four; the checks fail on
that study's partition only (another study audited in the same schedule tick stays green);
an audit writes nothing to the DataService; the schedule requests one run per registered
study."""

from datetime import datetime, timezone

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, build_schedule_context

from gwo_assets.audit.assets import AUDIT_CHECKS
from gwo_assets.audit.job import AUDIT_TAG, gwo_drift_audit
from gwo_assets.core.drift import DRIFT_CLASSES
from gwo_assets.partitions import STUDY_PARTITIONS, register_study
from gwo_assets.sandbox.generator import generate_study
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.audit.drift_helpers import (audit_frame, check_results, plant_drift,
                                                  run_audit)
from gwo_assets_tests.support import run_ingest

WRITES = ("POST", "PATCH", "DELETE", "PUT")


@pytest.fixture(autouse=True)
def _sandbox_aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "KF_DATASERVICE_TOKEN", "GWO_AUDIT_REPORT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def two_loaded_studies(tmp_path):
    """One sandbox, two studies loaded by real ingest runs on a persistent instance."""
    with SandboxStack(specimens=8, seed=11, workdir=tmp_path / "sandbox") as stack:
        second = generate_study(stack.info["dataservice_url"], stack.s3.client(), stack.bucket,
                                specimens=4, seed=97, workdir=tmp_path / "second")
        (tmp_path / "dagster_home").mkdir()
        with DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
            reports = tmp_path / "reports"
            assert run_ingest(stack.info, reports, dry_run=False, instance=instance).success
            assert run_ingest({**stack.info, "study_id": second.study_id,
                               "manifest": str(second.manifest)}, reports, dry_run=False,
                              instance=instance).success
            yield stack, second, instance


def test_one_tick_audits_every_study_and_only_the_drifted_one_fails(two_loaded_studies, tmp_path,
                                                                     monkeypatch):
    stack, second, instance = two_loaded_studies
    first = stack.study
    planted = plant_drift(stack, first, monkeypatch)
    stack.dataservice.reset_counts()

    context = build_schedule_context(instance=instance,
                                     scheduled_execution_time=datetime(2026, 12, 7, 6, tzinfo=timezone.utc))
    requests = gwo_drift_audit(context)
    assert sorted(r.partition_key for r in requests) == sorted([first.study_id, second.study_id])
    assert all(r.tags[AUDIT_TAG] == "true" and "gwo/study" not in r.tags for r in requests)
    assert len({r.run_key for r in requests}) == 2

    results = {r.partition_key: run_audit(stack.info, r.partition_key, instance,
                                          tmp_path / "reports", r.run_config, r.tags)
               for r in requests}
    assert all(result.success for result in results.values())

    drift = audit_frame(results[first.study_id])
    drifted = drift[drift["status"] != "ok"]
    assert dict(zip(drifted["status"], drifted["url"])) == planted
    assert len(drifted) == 4 and len(drift) == len(first.harmonized)
    assert drifted.set_index("status").loc["unreadable", "detail"].startswith("403 AccessDenied")
    assert "size" in drifted.set_index("status").loc["changed", "detail"]
    assert "GLACIER" in drifted.set_index("status").loc["availability_wrong", "detail"]

    other = audit_frame(results[second.study_id])
    assert set(other["status"]) == {"ok"} and len(other) == len(second.harmonized)

    # Checks: one failing per planted class, each with one file, on the drifted partition only.
    assert check_results(results[first.study_id]) == {
        name: (False, first.study_id, 1) for name in AUDIT_CHECKS}
    assert check_results(results[second.study_id]) == {
        name: (True, second.study_id, 0) for name in AUDIT_CHECKS}
    storage = instance.event_log_storage
    for name in AUDIT_CHECKS:
        history = storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey("drift_audit"), name), limit=10)
        assert {(r.partition, r.event.asset_check_evaluation.passed) for r in history} == {
            (first.study_id, False), (second.study_id, True)}

    # The failing check carries a preview and the full list beside the report.
    evaluation = next(e for e in results[first.study_id].get_asset_check_evaluations()
                      if e.check_name == "objects_exist")
    csv = evaluation.metadata["all_files_csv"].value
    assert planted["object_gone"] in open(csv).read()
    assert planted["object_gone"] in evaluation.metadata["offending_files"].value
    assert "visible" in evaluation.metadata["fix"].value

    # Read-only: GETs only, and exactly the study record and one list page per study.
    counts = stack.dataservice.request_counts()
    assert not [k for k in counts if k.split()[0] in WRITES], counts
    assert counts == {"GET /studies": 2, "GET /genomic-files": 2}

    # When they last agreed: the green study now, the drifted one never since auditing began.
    mats = {key: instance.fetch_materializations(AssetKey("drift_audit"), limit=5).records
            for key in ("all",)}["all"]
    by_study = {m.partition_key: m.asset_materialization.metadata for m in mats}
    assert by_study[second.study_id]["agreed"].value is True
    assert isinstance(by_study[second.study_id]["last_agreed"].value, float)
    assert by_study[first.study_id]["agreed"].value is False
    assert by_study[first.study_id]["last_agreed"].value == "not since auditing began"
    assert {by_study[first.study_id][name].value for name in DRIFT_CLASSES} == {1}


def test_the_schedule_requests_one_run_per_registered_study(tmp_path):
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        assert gwo_drift_audit(build_schedule_context(instance=instance)).skip_message
        studies = ["SD_0A1B2C3D", "SD_1B2C3D4E", "SD_2C3D4E5F"]
        for study in studies:
            register_study(instance, study)
        requests = gwo_drift_audit(build_schedule_context(instance=instance))
        assert [r.partition_key for r in requests] == studies
        assert instance.get_dynamic_partitions(STUDY_PARTITIONS.name) == studies


def test_default_cron_is_weekly_and_configurable(monkeypatch):
    import importlib

    import gwo_assets.audit.job as job
    assert gwo_drift_audit.cron_schedule == "0 6 * * 1"
    monkeypatch.setenv("GWO_AUDIT_CRON", "0 3 * * *")
    try:
        assert importlib.reload(job).gwo_drift_audit.cron_schedule == "0 3 * * *"
        monkeypatch.setenv("GWO_AUDIT_CRON", "off")
        assert importlib.reload(job).gwo_drift_audit.default_status.value == "STOPPED"
    finally:
        monkeypatch.delenv("GWO_AUDIT_CRON")
        importlib.reload(job)


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
def test_the_reports_fixes_clear_the_drift(two_loaded_studies, tmp_path, monkeypatch):
    """Hide the record whose object is gone (the report's PATCH), grant access, rerun the
    ingest with the manifest (skipping the gone file's rows): the next audit agrees."""
    import requests

    stack, _, instance = two_loaded_studies
    study = stack.study
    plant_drift(stack, study, monkeypatch)
    first = run_audit(stack.info, study.study_id, instance, tmp_path / "reports")
    drift = audit_frame(first).set_index("status")
    assert first.success and len(drift.loc[list(DRIFT_CLASSES)]) == 4

    gone = drift.loc["object_gone", "kf_id"]
    answer = requests.patch(f"{stack.info['dataservice_url']}/genomic-files/{gone}",
                            json={"visible": False}, timeout=10)
    assert answer.status_code == 200, answer.text
    monkeypatch.undo()  # the audit's identity may read the denied object again
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert run_ingest(stack.info, tmp_path / "reports", dry_run=False, instance=instance,
                      skip_invalid_rows=True).success

    again = run_audit(stack.info, study.study_id, instance, tmp_path / "reports")
    statuses = audit_frame(again)["status"].value_counts().to_dict()
    assert statuses == {"ok": len(study.harmonized) - 1, "hidden": 1}
    assert all(passed for passed, _, _ in check_results(again).values())
    [latest] = instance.fetch_materializations(AssetKey("drift_audit"), limit=1).records
    assert latest.asset_materialization.metadata["agreed"].value is True
    assert isinstance(latest.asset_materialization.metadata["last_agreed"].value, float)


def test_the_audit_is_its_own_job_and_never_part_of_an_ingest():
    from gwo_assets.definitions import defs

    ingest = defs.resolve_job_def("ingest_gwo").asset_layer
    audit = defs.resolve_job_def("audit_gwo").asset_layer
    assert AssetKey("drift_audit") not in ingest.selected_asset_keys
    assert not [k for k in ingest.asset_graph.asset_check_keys if k.asset_key.path == ["drift_audit"]]
    assert audit.selected_asset_keys == {AssetKey("drift_audit")}
    assert {k.name for k in audit.asset_graph.asset_check_keys} == set(AUDIT_CHECKS)
    assert defs.resolve_schedule_def("gwo_drift_audit").job_name == "audit_gwo"

"""Plan and apply: a real run given the dry run's plan id writes only that plan.

Each test dry-runs a sandbox study, changes one thing the plan rests on (or nothing), then
runs for real with ``ingest.approved_plan``; the writes are counted by the sandbox itself.
"""

from pathlib import Path

import pytest
from dagster import DagsterInstance

from gwo_assets.definitions import defs
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import execute_ingest, post_orphan, report_json, run_config

WRITES = ("POST", "PATCH", "DELETE")


@pytest.fixture
def stack(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with SandboxStack(specimens=4, seed=41, workdir=tmp_path / "sandbox") as running:
        yield running


def ingest(stack, instance, reports: Path, *, dry_run: bool, plan: str = "",
           manifest: str | None = None):
    config = run_config(stack.info, dry_run=dry_run, report_dir=reports, manifest=manifest)
    if plan:
        config["resources"]["ingest"]["config"]["approved_plan"] = plan
    result = execute_ingest(defs.resolve_job_def("ingest_gwo"), config, instance)
    return result, report_json(reports, result.run_id)


def writes(stack) -> dict[str, int]:
    return {call: n for call, n in stack.dataservice.request_counts().items()
            if call.split(" ", 1)[0] in WRITES}


def dry_run_plan(stack, instance, reports) -> str:
    result, report = ingest(stack, instance, reports, dry_run=True)
    assert result.success and report["plan"]["plan_id"]
    assert instance.get_run_by_id(result.run_id).tags["gwo/plan"] == report["plan"]["plan_id"]
    assert f"--write --plan {report['plan']['plan_id']}" in report["plan"]["apply_command"]
    assert f"approved_plan: {report['plan']['plan_id']}" in report["plan"]["apply_launchpad_config"]
    return report["plan"]["plan_id"]


def refused(stack, instance, reports, plan, **options) -> dict:
    stack.dataservice.reset_counts()
    result, report = ingest(stack, instance, reports, dry_run=False, plan=plan, **options)
    assert not result.success
    assert writes(stack) == {}, "a plan that differs writes nothing"
    assert report["stopped_at"] == "experiment_links_plan_plan_is_approved"
    assert report["plan"]["approved_plan"] == plan and report["plan"]["matches_approved"] is False
    assert report["plan"]["plan_id"] != plan
    return report


def test_the_approved_plan_is_written(stack, tmp_path):
    instance = DagsterInstance.ephemeral()
    plan = dry_run_plan(stack, instance, tmp_path / "reports")
    stack.dataservice.reset_counts()
    result, report = ingest(stack, instance, tmp_path / "reports", dry_run=False, plan=plan)
    assert result.success
    files = len(stack.study.harmonized)
    assert writes(stack).get("POST /genomic-files") == files
    assert report["plan"] == {**report["plan"], "plan_id": plan, "approved_plan": plan,
                              "matches_approved": True}
    assert instance.get_run_by_id(result.run_id).tags["gwo/approved_plan"] == plan


def test_a_manifest_edited_after_the_dry_run_writes_nothing(stack, tmp_path):
    instance = DagsterInstance.ephemeral()
    manifest = tmp_path / "manifest.tsv"
    manifest.write_bytes(Path(stack.info["manifest"]).read_bytes())
    config = {"manifest": str(manifest)}
    result, report = ingest(stack, instance, tmp_path / "reports", dry_run=True, **config)
    plan = report["plan"]["plan_id"]
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(lines[:-1]))  # the last row's file is dropped
    report = refused(stack, instance, tmp_path / "reports", plan, **config)
    sources = {d["source"] for d in report["plan"]["differences"]}
    assert "manifest" in sources
    assert any("manifest changed since the dry run" in d["message"]
               for d in report["plan"]["differences"])


def test_a_file_created_in_the_dataservice_after_the_dry_run_writes_nothing(stack, tmp_path):
    instance = DagsterInstance.ephemeral()
    plan = dry_run_plan(stack, instance, tmp_path / "reports")
    filepath = stack.study.harmonized[0].filepath
    kf_id = post_orphan(stack.info["dataservice_url"], filepath)
    report = refused(stack, instance, tmp_path / "reports", plan)
    named = [d for d in report["plan"]["differences"] if d["source"] == "dataservice"]
    assert any(filepath in d["message"] and kf_id in d["message"] for d in named), named
    assert {d["source"] for d in report["plan"]["differences"]} == {"dataservice"}


def test_an_s3_object_replaced_after_the_dry_run_writes_nothing(stack, tmp_path):
    instance = DagsterInstance.ephemeral()
    plan = dry_run_plan(stack, instance, tmp_path / "reports")
    harmonized = stack.study.harmonized[0]
    stack.s3.client().put_object(Bucket=stack.bucket, Key=harmonized.key, Body=b"new bytes")
    report = refused(stack, instance, tmp_path / "reports", plan)
    [difference] = report["plan"]["differences"]
    assert difference["source"] == "s3"
    assert difference["message"].startswith(f"genomic file {harmonized.filepath}: ")
    assert "size" in difference["message"] and "hashes" in difference["message"]
    assert difference["message"].endswith("(the S3 object changed)")


def test_without_a_plan_id_a_real_run_writes_as_before(stack, tmp_path):
    instance = DagsterInstance.ephemeral()
    dry_run_plan(stack, instance, tmp_path / "reports")
    post_orphan(stack.info["dataservice_url"], stack.study.harmonized[0].filepath)
    stack.dataservice.reset_counts()
    result, report = ingest(stack, instance, tmp_path / "reports", dry_run=False)
    assert result.success and report["plan"]["approved_plan"] is None
    assert writes(stack).get("POST /genomic-files") == len(stack.study.harmonized) - 1

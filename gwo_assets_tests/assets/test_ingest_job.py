"""ingest_gwo end to end through Dagster, against a real sandbox (DataService + moto S3).

Every assertion reads the sandbox's stored state and compares it with the
generator's ground truth (what the study really is), not with the pipeline's output.
"""

import hashlib

import pytest

from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import (post_orphan, report_json, run_ingest, stored_files,
                                      stored_link_pairs)

SPECIMENS = 12


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=SPECIMENS, seed=11, workdir=tmp_path / "sandbox") as running:
        yield running


def expected_access(study, harmonized) -> tuple[bool, set[str]]:
    sources = [study.source_file(url) for url in harmonized.source_reads]
    controlled = any(s.controlled_access for s in sources)
    authz = {a for s in sources for a in s.authz}
    if controlled:
        authz.discard("/open")
    return controlled, authz


def cold_class(harmonized) -> bool:
    return harmonized.storage_class in ("GLACIER", "DEEP_ARCHIVE")


def assert_study_loaded(stack, study=None) -> dict[str, str]:
    """Every harmonized file once, right fields, exactly its biospecimens and experiments
    (of ``study``, default the stack's own)."""
    study, url, s3 = study or stack.study, stack.info["dataservice_url"], stack.s3.client()
    kf_ids = {}
    for harmonized in study.harmonized:
        files = stored_files(url, harmonized.filepath)
        assert len(files) == 1, harmonized.filepath
        record = files[0]
        kf_ids[harmonized.filepath] = record["kf_id"]
        head = s3.head_object(Bucket=study.bucket, Key=harmonized.key)
        assert record["size"] == head["ContentLength"]
        assert record["urls"] == [harmonized.filepath]
        assert record["external_id"] == harmonized.filepath
        assert record["is_harmonized"] is True
        assert record["data_type"] == harmonized.data_type
        assert record["workflow_type"] == harmonized.workflow_type
        assert record["hashes"]["etag"] == head["ETag"].strip('"').lower()
        if not harmonized.multipart and not cold_class(harmonized):
            body = s3.get_object(Bucket=study.bucket, Key=harmonized.key)["Body"].read()
            assert record["hashes"]["md5"] == hashlib.md5(body).hexdigest()
        cold = cold_class(harmonized)
        assert record["availability"] == ("Cold Storage" if cold else "Immediate Download")
        controlled, authz = expected_access(study, harmonized)
        assert record["controlled_access"] is controlled
        assert set(record["authz"]) == authz
        biospecimens = stored_link_pairs(url, "/biospecimen-genomic-files", "biospecimen",
                                         record["kf_id"])
        assert sorted(biospecimens) == sorted(b.kf_id for b in harmonized.biospecimens)
        experiments = stored_link_pairs(url, "/sequencing-experiment-genomic-files",
                                        "sequencing_experiment", record["kf_id"])
        expected = {study.source_file(u).experiment_id for u in harmonized.source_reads}
        assert sorted(experiments) == sorted(expected)
    return kf_ids


def test_dry_run_plans_exactly_what_the_real_run_writes_and_a_rerun_writes_nothing(stack, tmp_path):
    reports = tmp_path / "reports"
    service = stack.dataservice
    service.reset_counts()
    dry = run_ingest(stack.info, reports, dry_run=True)
    assert dry.success
    assert service.write_count() == 0
    planned = report_json(reports, dry.run_id)["steps"]
    n_files = len(stack.study.harmonized)
    assert planned["genomic_files"]["create"] == n_files

    real = run_ingest(stack.info, reports, dry_run=False)
    assert real.success
    done = report_json(reports, real.run_id)["steps"]
    assert done == planned
    counts = service.request_counts()
    assert counts.get("POST /genomic-files", 0) == n_files
    assert counts.get("POST /biospecimen-genomic-files", 0) == planned["biospecimen_genomic_files"]["create"]
    assert counts.get("POST /sequencing-experiment-genomic-files", 0) == \
        planned["sequencing_experiment_genomic_files"]["create"]
    assert_study_loaded(stack)

    service.reset_counts()
    again = run_ingest(stack.info, reports, dry_run=False)
    assert again.success
    assert service.write_count() == 0
    rerun = report_json(reports, again.run_id)["steps"]
    assert all(c["create"] == 0 and c["update"] == 0 for c in rerun.values())


def test_a_changed_object_is_patched_in_place(stack, tmp_path):
    reports = tmp_path / "reports"
    assert run_ingest(stack.info, reports, dry_run=False).success
    before = assert_study_loaded(stack)
    target = next(h for h in stack.study.harmonized if not h.multipart
                  and h.storage_class == "STANDARD")
    stack.s3.client().put_object(Bucket=stack.study.bucket, Key=target.key, Body=b"re-harmonized!")
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, reports, dry_run=False)
    assert result.success
    counts = stack.dataservice.request_counts()
    assert counts.get("PATCH /genomic-files") == 1
    assert counts.get("POST /genomic-files", 0) == 0
    files = stored_files(stack.info["dataservice_url"], target.filepath)
    assert [f["kf_id"] for f in files] == [before[target.filepath]]
    assert files[0]["size"] == len(b"re-harmonized!")
    assert files[0]["hashes"]["md5"] == hashlib.md5(b"re-harmonized!").hexdigest()


def test_a_fresh_load_looks_up_each_file_the_study_read_did_not_return(stack, tmp_path):
    """Correctness before request counts: one GET per new file, nothing more."""
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)
    assert result.success
    n_files = len(stack.study.harmonized)
    # the study read page + one look-up per file + one primary-key read per new file (its
    # chosen kf_id is free) + the read-back page
    assert stack.dataservice.request_counts()["GET /genomic-files"] == 2 * n_files + 2
    lookups = result.asset_materializations_for_node("existing_harmonized_files")[0]
    assert lookups.metadata["external_id_lookups"].value == n_files
    assert lookups.metadata["found_by_lookup"].value == 0
    assert lookups.metadata["not_seen_by_study_read"].value == n_files


def test_a_linkless_file_left_by_another_tool_is_reused_and_linked_by_default(stack, tmp_path):
    target = stack.study.harmonized[0]
    orphan_id = post_orphan(stack.info["dataservice_url"], target.filepath)
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)
    assert result.success
    kf_ids = assert_study_loaded(stack)  # exactly one file, PATCHed to the right fields, linked
    assert kf_ids[target.filepath] == orphan_id
    lookups = result.asset_materializations_for_node("existing_harmonized_files")[0]
    assert lookups.metadata["reused_without_links"].value == 1


def test_a_rerun_never_reshows_a_hidden_file_nor_drops_a_curated_hash_type(stack, tmp_path):
    """A curator hid one file and added a sha512 to another; then one object changed in S3."""
    import requests
    url, reports = stack.info["dataservice_url"], tmp_path / "reports"
    assert run_ingest(stack.info, reports, dry_run=False).success
    hidden, curated = [h for h in stack.study.harmonized
                       if not h.multipart and h.storage_class == "STANDARD"][:2]
    [hidden_record] = stored_files(url, hidden.filepath)
    [curated_record] = stored_files(url, curated.filepath)
    assert requests.patch(f"{url}/genomic-files/{hidden_record['kf_id']}", timeout=10, json={
        "visible": False, "visibility_reason": "Sample Issue"}).ok
    curated_hashes = {**curated_record["hashes"], "sha512": "d" * 128}
    assert requests.patch(f"{url}/genomic-files/{curated_record['kf_id']}", timeout=10,
                          json={"hashes": curated_hashes}).ok
    stack.s3.client().put_object(Bucket=stack.study.bucket, Key=hidden.key, Body=b"new bytes")

    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, reports, dry_run=False)

    assert result.success
    assert stack.dataservice.request_counts().get("PATCH /genomic-files") == 1  # the changed one
    [still_hidden] = stored_files(url, hidden.filepath)
    assert (still_hidden["visible"], still_hidden["size"]) == (False, len(b"new bytes"))
    assert still_hidden["hashes"]["md5"] == hashlib.md5(b"new bytes").hexdigest()
    [kept] = stored_files(url, curated.filepath)
    assert kept["hashes"] == curated_hashes
    [warning] = [e for e in result.get_asset_check_evaluations()
                 if e.check_name == "no_planned_file_is_hidden"]
    assert (warning.passed, warning.severity.value, warning.blocking) == (False, "WARN", False)
    assert hidden_record["kf_id"] in warning.metadata["offending_rows"].value

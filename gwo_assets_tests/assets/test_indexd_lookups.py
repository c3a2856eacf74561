"""With an indexd configured, a new file costs no external_id scan, and every guarantee the
scan gave still holds (issue 20: the scan is what costs ~130 ms per file at 1 M files).

Each test reads the sandbox's stored state and its request counts, never the pipeline's
own output, except where it names what a look-up cost.
"""

from gwo_assets_tests.assets.test_ingest_job import assert_study_loaded, stack  # noqa: F401
from gwo_assets_tests.errors.test_existing_files import failed_check, offending_rows
from gwo_assets_tests.support import (post_orphan, register_in_other_study, run_ingest,
                                      stored_files, stored_record)


def test_a_fresh_load_with_indexd_scans_nothing_by_external_id(stack, tmp_path):
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, with_indexd=True)
    assert result.success
    counts = stack.dataservice.request_counts()
    assert_study_loaded(stack)
    files = len(stack.study.harmonized)
    assert counts["GET /index"] == files  # one indexed read per new file
    # study read page + one primary-key read per new file + read-back page: no scan at all
    assert counts["GET /genomic-files"] == files + 2
    lookups = result.asset_materializations_for_node("existing_harmonized_files")[0].metadata
    assert lookups["proved_unregistered_by_indexd"].value == files
    assert lookups["external_id_lookups"].value == 0


def test_a_linkless_file_of_another_tool_is_still_found_and_reused_with_indexd(stack, tmp_path):
    target = stack.study.harmonized[0]
    orphan = post_orphan(stack.info["dataservice_url"], target.filepath)
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, with_indexd=True)
    assert result.success
    assert assert_study_loaded(stack)[target.filepath] == orphan


def test_another_studys_file_is_still_never_touched_with_indexd(stack, tmp_path):
    url, target = stack.info["dataservice_url"], stack.study.harmonized[0]
    other = register_in_other_study(url, target.filepath)
    before = stored_record(url, "/genomic-files", other["genomic_file_id"])
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, with_indexd=True)
    assert not result.success and stack.dataservice.write_count() == 0
    assert other["study_id"] in offending_rows(failed_check(result, "existing_files_are_reusable"))
    assert stored_record(url, "/genomic-files", other["genomic_file_id"]) == before
    assert [f["kf_id"] for f in stored_files(url, target.filepath)] == [other["genomic_file_id"]]


def test_slow_scans_are_reported_while_the_run_looks_them_up(stack, tmp_path):
    """A DataService whose every GET takes 60 ms (a big, unindexed table): the run warns with
    the measured cost and both ways out, and the asset carries the cost; indexd on: no scan,
    no warning."""
    from dagster import DagsterInstance

    from gwo_assets.sandbox.dataservice import FaultConfig
    stack.dataservice.set_faults(FaultConfig(latency_ms=60, methods=("GET",)))
    instance = DagsterInstance.ephemeral()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=True, instance=instance)
    assert result.success
    warnings = [entry.user_message for entry in instance.all_logs(result.run_id)
                if "external_id look-ups are slow" in entry.user_message]
    assert len(warnings) == 1 and "CREATE INDEX ON genomic_file (external_id)" in warnings[0]
    [observed] = [o for o in result.asset_materializations_for_node("existing_harmonized_files")]
    cost = observed.metadata["external_id_lookup_cost"].value
    assert cost["lookups"] == len(stack.study.harmonized) and cost["median_ms"] >= 60

    with_indexd = run_ingest(stack.info, tmp_path / "reports", dry_run=True, instance=instance,
                             with_indexd=True)
    assert not [entry for entry in instance.all_logs(with_indexd.run_id)
                if "external_id look-ups are slow" in entry.user_message]

"""The S3 HEADs run beside the DataService study reads, not after them (issue 20 item 3).

The study read is held until every object of the manifest has been HEADed: with the scrape
started by the manifest step the HEADs finish meanwhile and the run goes on; were the
scrape still the S3 step's own (after the study read), the hold would time out.
"""

import threading

from gwo_assets.assets import study_tables
from gwo_assets.resources import s3 as s3_module
from gwo_assets_tests.assets.test_ingest_job import assert_study_loaded, stack  # noqa: F401
from gwo_assets_tests.support import run_ingest

HOLD_SECONDS = 30


def test_the_study_read_runs_while_the_objects_are_headed(stack, tmp_path, monkeypatch):
    objects = len({h.filepath for h in stack.study.harmonized})
    headed, all_headed = [], threading.Event()
    real_head, real_read = s3_module._head_row, study_tables.read_study_table

    def counted_head(*args):
        row = real_head(*args)
        headed.append(row["filepath"])
        if len(headed) >= objects:
            all_headed.set()
        return row

    seen_before_read: list[bool] = []

    def read_after_the_heads(*args, **kwargs):
        seen_before_read.append(all_headed.wait(HOLD_SECONDS))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(s3_module, "_head_row", counted_head)
    monkeypatch.setattr(study_tables, "read_study_table", read_after_the_heads)

    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False)

    assert result.success
    assert seen_before_read and all(seen_before_read), "the HEADs waited for the study read"
    assert len(headed) == objects  # every object HEADed once, by the background scrape
    metadata = result.asset_materializations_for_node("harmonized_file_s3_metadata")[0].metadata
    assert metadata["started_with_the_manifest"].value is True
    assert metadata["s3_requests"].value["HEAD"] == objects
    assert_study_loaded(stack)


def test_a_manifest_the_run_will_stop_at_starts_no_scrape(stack, tmp_path, monkeypatch):
    """A real run with row errors and no skip_invalid_rows stops at the manifest check: no
    HEAD. (A dry run goes on, to report every problem, and so scrapes.)"""
    headed = []
    real_head = s3_module._head_row
    monkeypatch.setattr(s3_module, "_head_row", lambda *a: headed.append(a) or real_head(*a))
    rows = open(stack.info["manifest"]).read().splitlines()
    column = rows[0].split("\t").index("KF Biospecimen ID")
    first = rows[1].split("\t")
    first[column] = "not-a-kf-id"
    manifest = tmp_path / "bad.tsv"
    manifest.write_text("\n".join([rows[0], "\t".join(first), *rows[2:]]) + "\n")
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, manifest=str(manifest))
    assert not result.success
    assert headed == []


def test_a_run_of_the_manifest_alone_starts_no_scrape(stack, tmp_path, monkeypatch):
    from dagster import AssetKey, DagsterInstance

    from gwo_assets.definitions import defs
    from gwo_assets.partitions import register_study
    from gwo_assets_tests.support import run_config

    headed = []
    real_head = s3_module._head_row
    monkeypatch.setattr(s3_module, "_head_row", lambda *a: headed.append(a) or real_head(*a))
    instance = DagsterInstance.ephemeral()
    register_study(instance, stack.info["study_id"])
    result = defs.resolve_job_def("ingest_gwo").execute_in_process(
        run_config=run_config(stack.info, dry_run=True, report_dir=tmp_path / "reports"),
        instance=instance, partition_key=stack.info["study_id"],
        asset_selection=[AssetKey("gwo_manifest")])
    assert result.success
    assert headed == []

"""Each study is a partition of the ingest assets: registered automatically, never mixed."""

import pytest
from dagster import DagsterInstance, Failure

from gwo_assets.definitions import defs
from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.resources.run_settings import resolve_study
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import run_config, run_ingest


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=3, seed=31, workdir=tmp_path / "sandbox") as running:
        yield running


def test_the_partition_is_the_study_and_a_config_study_must_agree():
    assert resolve_study("sd_0a1b2c3d", "") == "SD_0A1B2C3D"
    assert resolve_study("SD_0A1B2C3D", "SD_0A1B2C3D") == "SD_0A1B2C3D"
    with pytest.raises(Failure, match="partition is SD_0A1B2C3D but ingest.study_id is "
                                      "SD_1B2C3D4E"):
        resolve_study("SD_0A1B2C3D", "SD_1B2C3D4E")
    with pytest.raises(Failure, match="this run has none: run `gwo ingest SD_1B2C3D4E"):
        resolve_study("", "SD_1B2C3D4E")


def test_every_ingest_asset_is_partitioned_by_study():
    graph = defs.resolve_asset_graph()
    keys = defs.resolve_job_def("ingest_gwo").asset_layer.selected_asset_keys
    assert keys and all(graph.get(key).partitions_def == STUDY_PARTITIONS for key in keys)


def test_a_run_materializes_its_study_partition_and_refuses_a_disagreeing_config(stack, tmp_path):
    instance = DagsterInstance.ephemeral()
    study = stack.info["study_id"]
    assert run_ingest(stack.info, tmp_path / "reports", dry_run=True, instance=instance).success
    assert instance.get_dynamic_partitions(STUDY_PARTITIONS.name) == [study]
    [event] = instance.fetch_materializations(
        defs.resolve_assets_def("genomic_files_plan").key, limit=1).records
    assert event.partition_key == study

    config = run_config(stack.info, dry_run=True, report_dir=tmp_path / "reports")
    instance.add_dynamic_partitions(STUDY_PARTITIONS.name, ["SD_0A1B2C3D"])
    stack.dataservice.reset_counts()
    refused = defs.resolve_job_def("ingest_gwo").execute_in_process(
        run_config=config, instance=instance, partition_key="SD_0A1B2C3D", raise_on_error=False)
    assert not refused.success
    assert stack.dataservice.request_counts() == {}  # refused before any step

"""A run started with a study key nobody registered (``dagster job execute --tags``) is
checked against the DataService before its partition is registered (issue 21 item 3)."""

from dagster import DagsterInstance

from gwo_assets.definitions import defs
from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.sandbox.dataservice import SandboxDataService
from gwo_assets_tests.support import run_config


def _run(url: str, study: str, tmp_path):
    instance = DagsterInstance.ephemeral()
    config = run_config({"study_id": study, "manifest": str(tmp_path / "manifest.tsv"),
                         "dataservice_url": url, "s3_endpoint_url": "http://127.0.0.1:9"},
                        dry_run=True, report_dir=tmp_path / "reports")
    result = defs.resolve_job_def("ingest_gwo").execute_in_process(
        run_config=config, instance=instance, tags={"dagster/partition": study},
        raise_on_error=False)
    return instance, result


def test_a_run_of_a_study_the_dataservice_lacks_registers_nothing(tmp_path):
    with SandboxDataService() as dataservice:
        instance, result = _run(dataservice.url, "SD_ZZZZZZZZ", tmp_path)
        assert dataservice.request_counts() == {"GET /studies": 1}
    assert not result.success
    assert instance.get_dynamic_partitions(STUDY_PARTITIONS.name) == []
    failure = str([event.event_specific_data for event in result.all_events
                   if event.is_failure])
    assert "SD_ZZZZZZZZ" in failure and "nothing was registered" in failure


def test_a_run_of_an_existing_study_registers_it(tmp_path):
    import requests

    with SandboxDataService() as dataservice:
        study = requests.post(f"{dataservice.url}/studies", json={"external_id": "s"},
                              timeout=10).json()["results"]["kf_id"]
        instance, _ = _run(dataservice.url, study, tmp_path)
    assert instance.get_dynamic_partitions(STUDY_PARTITIONS.name) == [study]

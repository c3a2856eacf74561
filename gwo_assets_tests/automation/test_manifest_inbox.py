"""The inbox sensor against the sandbox DataService and moto S3: one dry-run request per new
manifest (local folder or S3 prefix) with the study's partition; the same bytes again, none;
an unattributable manifest, none and the reason in the sensor's log."""

import logging
import shutil

import pytest
from dagster import DagsterInstance, SkipReason, build_sensor_context

from gwo_assets.automation.inbox import INBOX_ENV
from gwo_assets.automation.manifest_inbox import REPORT_DIR_ENV, gwo_manifest_inbox
from gwo_assets.definitions import defs
from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.resources.dataservice import DataServiceResource
from gwo_assets.resources.s3 import S3Resource
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import report_json

UNKNOWN_BIOSPECIMEN = "BS_ZZZZZZZZ"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with SandboxStack(specimens=4, seed=31, workdir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture
def resources(stack):
    return {"dataservice": DataServiceResource(url=stack.info["dataservice_url"]),
            "s3": S3Resource(endpoint_url=stack.info["s3_endpoint_url"])}


class Sensor:
    """Evaluates the sensor tick after tick, carrying the cursor as the daemon does."""

    def __init__(self, resources, log_handler: logging.Handler | None = None):
        self.resources = resources
        self.log_handler = log_handler
        self.instance = DagsterInstance.ephemeral()
        self.cursor = None

    def tick(self):
        with build_sensor_context(instance=self.instance, cursor=self.cursor,
                                  resources=self.resources) as context:
            if self.log_handler is not None:  # the sensor's own logger (it does not propagate)
                context.log.addHandler(self.log_handler)
            result = gwo_manifest_inbox(context)
        self.cursor = getattr(result, "cursor", None) or self.cursor
        return result


def unattributable(stack) -> bytes:
    text = stack.study.manifest.read_text()
    known = text.splitlines()[1].split("\t")[2]
    return text.replace(known, UNKNOWN_BIOSPECIMEN).encode()


def test_a_manifest_dropped_in_a_local_inbox_gets_one_dry_run_of_its_study(
        stack, resources, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    study = stack.info["study_id"]
    (inbox / study).mkdir(parents=True)
    manifest = inbox / study / "gwo.tsv"
    shutil.copy(stack.study.manifest, manifest)
    (inbox / "notes.txt").write_text("not a manifest")
    monkeypatch.setenv(INBOX_ENV, str(inbox))
    sensor = Sensor(resources)

    result = sensor.tick()
    (request,) = result.run_requests
    assert request.partition_key == study
    ingest = request.run_config["resources"]["ingest"]["config"]
    assert ingest["manifest"] == str(manifest) and ingest["dry_run"] is True
    assert ingest["study_id"] == study
    assert request.run_config["resources"]["s3"]["config"] == {
        "endpoint_url": stack.info["s3_endpoint_url"]}
    assert request.tags["gwo/manifest"] == str(manifest)
    assert request.run_key == request.tags["gwo/manifest_sha256"]
    (partitions,) = result.dynamic_partitions_requests
    assert partitions.partitions_def_name == STUDY_PARTITIONS.name
    assert list(partitions.partition_keys) == [study]

    again = sensor.tick()
    assert again.run_requests == [] and isinstance(again.skip_reason, SkipReason)
    shutil.copy(manifest, inbox / "same-bytes-again.tsv")  # a re-upload under another name
    assert sensor.tick().run_requests == []

    manifest.write_bytes(manifest.read_bytes() + b"\n")  # other bytes: a new manifest
    (changed,) = sensor.tick().run_requests
    assert changed.partition_key == study and changed.run_key != request.run_key


def test_the_requested_dry_run_runs_for_the_study_and_writes_nothing(
        stack, resources, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(stack.study.manifest, inbox / "gwo.tsv")
    monkeypatch.setenv(INBOX_ENV, str(inbox))
    monkeypatch.setenv(REPORT_DIR_ENV, str(tmp_path / "reports"))
    monkeypatch.setenv("KF_DATASERVICE_URL", stack.info["dataservice_url"])  # as on the daemon
    sensor = Sensor(resources)
    result = sensor.tick()
    (request,) = result.run_requests
    for partitions in result.dynamic_partitions_requests:  # what the daemon does with them
        sensor.instance.add_dynamic_partitions(partitions.partitions_def_name,
                                               list(partitions.partition_keys))
    stack.dataservice.reset_counts()
    run = defs.resolve_job_def("ingest_gwo").execute_in_process(
        run_config=request.run_config, partition_key=request.partition_key, tags=request.tags,
        instance=sensor.instance, raise_on_error=False)
    assert run.success
    assert stack.dataservice.write_count() == 0
    report = report_json(tmp_path / "reports", run.run_id)
    assert report["dry_run"] is True and report["study_id"] == stack.info["study_id"]
    assert report["inputs"]["manifest_sha256"] == request.tags["gwo/manifest_sha256"]


def test_a_manifest_in_an_s3_inbox_gets_one_dry_run(stack, resources, monkeypatch):
    client = stack.s3.client()
    client.put_object(Bucket=stack.bucket, Key="inbox/batch-1/gwo.tsv",
                      Body=stack.study.manifest.read_bytes())
    client.put_object(Bucket=stack.bucket, Key="elsewhere/gwo.tsv",
                      Body=stack.study.manifest.read_bytes() + b"\n")
    monkeypatch.setenv(INBOX_ENV, f"s3://{stack.bucket}/inbox")
    sensor = Sensor(resources)

    (request,) = sensor.tick().run_requests
    uri = f"s3://{stack.bucket}/inbox/batch-1/gwo.tsv"
    assert request.partition_key == stack.info["study_id"]
    assert request.run_config["resources"]["ingest"]["config"]["manifest"] == uri
    assert request.tags["gwo/manifest"] == uri
    assert sensor.tick().run_requests == []
    client.put_object(Bucket=stack.bucket, Key="inbox/batch-2/gwo.tsv",
                      Body=stack.study.manifest.read_bytes())  # same bytes, uploaded again
    assert sensor.tick().run_requests == []


def test_an_unattributable_manifest_is_skipped_with_the_reason_logged(
        stack, resources, tmp_path, monkeypatch, caplog):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "unknown.tsv").write_bytes(unattributable(stack))
    other_study = "SD_00000000"
    (inbox / other_study).mkdir()
    shutil.copy(stack.study.manifest, inbox / other_study / "wrong-folder.tsv")
    monkeypatch.setenv(INBOX_ENV, str(inbox))
    sensor = Sensor(resources, log_handler=caplog.handler)

    with caplog.at_level(logging.WARNING):
        result = sensor.tick()
    assert result.run_requests == [] and result.dynamic_partitions_requests == []
    assert "2 skipped" in result.skip_reason.skip_message
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("unknown.tsv" in w and f"not found in the DataService: {UNKNOWN_BIOSPECIMEN}" in w
               for w in warnings), warnings
    assert any("wrong-folder.tsv" in w and f"its path names {other_study}" in w
               for w in warnings), warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert sensor.tick().run_requests == []
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]  # told once


def test_without_the_variable_the_sensor_skips_and_says_why(resources, monkeypatch):
    monkeypatch.delenv(INBOX_ENV, raising=False)
    result = Sensor(resources).tick()
    assert isinstance(result, SkipReason) and INBOX_ENV in result.skip_message


def test_an_unreachable_dataservice_is_retried_on_the_next_tick(stack, resources, tmp_path,
                                                                monkeypatch, caplog):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(stack.study.manifest, inbox / "gwo.tsv")
    monkeypatch.setenv(INBOX_ENV, str(inbox))
    down = {**resources, "dataservice": DataServiceResource(url="http://127.0.0.1:9",
                                                            max_retries=0)}
    sensor = Sensor(down, log_handler=caplog.handler)
    with caplog.at_level(logging.WARNING):
        assert sensor.tick().run_requests == []
    assert any("not attributed yet" in r.getMessage() for r in caplog.records)
    sensor.resources = resources
    (request,) = sensor.tick().run_requests  # the bytes were not marked as handled
    assert request.partition_key == stack.info["study_id"]

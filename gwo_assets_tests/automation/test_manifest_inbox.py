"""The inbox sensor against the sandbox DataService and moto S3: one dry-run request per new
manifest (local folder or S3 prefix) with the study's partition; the same bytes again, none;
an unattributable manifest, none and the reason in the sensor's log."""

import logging
import shutil

import pytest
from botocore.awsrequest import AWSResponse
from dagster import DagsterInstance, SkipReason, build_sensor_context

from gwo_assets.automation import manifest_inbox
from gwo_assets.automation.inbox import INBOX_ENV, LocalInbox, open_inbox
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


def refuse_get(inbox_client, key: str, code: str, status: int):
    """S3 answering ``code`` to a GET of ``key``, at the boto3 boundary (as botocore's Stubber
    does: a before-call handler's response replaces the request); other requests go through."""
    def before_call(params, **_):
        if params["url_path"].endswith("/" + key):
            return (AWSResponse(None, status, {}, None),
                    {"Error": {"Code": code, "Message": code},
                     "ResponseMetadata": {"HTTPStatusCode": status}})
        return None
    inbox_client.meta.events.register("before-call.s3.GetObject", before_call)


def test_one_unreadable_manifest_does_not_stop_the_inbox(stack, resources, monkeypatch, caplog):
    """Issue 21 item 6: an archived (GLACIER), an AccessDenied and a vanished manifest each get
    a warning naming the file and what to do, are recorded as handled for those bytes, and the
    good manifest beside them gets its dry run, on the first tick and after."""
    client = stack.s3.client()
    good = stack.study.manifest.read_bytes()
    prefix = "inbox-unreadable/"
    client.put_object(Bucket=stack.bucket, Key=prefix + "a-archived.tsv", Body=good + b"\n",
                      StorageClass="GLACIER")
    client.put_object(Bucket=stack.bucket, Key=prefix + "b-denied.tsv", Body=good + b"\n\n")
    client.put_object(Bucket=stack.bucket, Key=prefix + "c-vanished.tsv", Body=good + b"\n\n\n")
    client.put_object(Bucket=stack.bucket, Key=prefix + "d-good.tsv", Body=good)
    opened = []

    def open_inbox_watched(location, client_factory):
        inbox = open_inbox(location, client_factory)
        refuse_get(inbox.client, prefix + "b-denied.tsv", "AccessDenied", 403)

        def vanish(params, **_):  # deleted by someone else between the listing and the GET
            if params["Key"] == prefix + "c-vanished.tsv":
                client.delete_object(Bucket=stack.bucket, Key=params["Key"])
        inbox.client.meta.events.register("provide-client-params.s3.GetObject", vanish)
        opened.append(inbox)
        return inbox

    monkeypatch.setattr(manifest_inbox, "open_inbox", open_inbox_watched)
    monkeypatch.setenv(INBOX_ENV, f"s3://{stack.bucket}/{prefix}")
    sensor = Sensor(resources, log_handler=caplog.handler)

    with caplog.at_level(logging.WARNING):
        result = sensor.tick()
    (request,) = result.run_requests
    assert request.tags["gwo/manifest"] == f"s3://{stack.bucket}/{prefix}d-good.tsv"
    assert request.partition_key == stack.info["study_id"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3, warnings
    archived, denied, vanished = warnings
    assert "a-archived.tsv" in archived and "archived" in archived and "restore it" in archived
    assert "b-denied.tsv" in denied and "AccessDenied" in denied and "s3:GetObject" in denied
    assert "c-vanished.tsv" in vanished and "deleted between the listing and the read" in vanished
    assert all("Nothing launched" in w for w in warnings)

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = sensor.tick()  # handled for those bytes: not read, not told again
    assert again.run_requests == [] and not caplog.records
    assert "No new manifest" in again.skip_reason.skip_message

    client.put_object(Bucket=stack.bucket, Key=prefix + "a-archived.tsv",
                      Body=good + b"\n\n\n\n")  # other bytes, same key: tried again
    (retried,) = sensor.tick().run_requests
    assert retried.tags["gwo/manifest"] == f"s3://{stack.bucket}/{prefix}a-archived.tsv"


def test_unreadable_manifests_alone_are_named_in_the_skip_reason(stack, resources, monkeypatch):
    client = stack.s3.client()
    prefix = "inbox-archived-only/"
    client.put_object(Bucket=stack.bucket, Key=prefix + "old.tsv",
                      Body=stack.study.manifest.read_bytes(), StorageClass="DEEP_ARCHIVE")
    monkeypatch.setenv(INBOX_ENV, f"s3://{stack.bucket}/{prefix}")
    result = Sensor(resources).tick()
    assert result.run_requests == []
    assert (f"1 unreadable: s3://{stack.bucket}/{prefix}old.tsv; see the log"
            in result.skip_reason.skip_message)


def test_a_read_that_may_succeed_later_is_retried_and_does_not_stop_the_rest(
        stack, resources, monkeypatch, caplog):
    client = stack.s3.client()
    prefix = "inbox-throttled/"
    client.put_object(Bucket=stack.bucket, Key=prefix + "a-slow.tsv",
                      Body=stack.study.manifest.read_bytes() + b"\n")
    client.put_object(Bucket=stack.bucket, Key=prefix + "b-good.tsv",
                      Body=stack.study.manifest.read_bytes())
    throttled = True

    def open_inbox_throttled(location, client_factory):
        inbox = open_inbox(location, client_factory)
        if throttled:
            refuse_get(inbox.client, prefix + "a-slow.tsv", "SlowDown", 503)
        return inbox

    monkeypatch.setattr(manifest_inbox, "open_inbox", open_inbox_throttled)
    monkeypatch.setenv(INBOX_ENV, f"s3://{stack.bucket}/{prefix}")
    sensor = Sensor(resources, log_handler=caplog.handler)
    with caplog.at_level(logging.WARNING):
        (request,) = sensor.tick().run_requests
    assert request.tags["gwo/manifest"].endswith("b-good.tsv")
    assert any("a-slow.tsv not read yet" in r.getMessage() and "SlowDown" in r.getMessage()
               for r in caplog.records)
    throttled = False
    (retried,) = sensor.tick().run_requests  # not recorded as handled
    assert retried.tags["gwo/manifest"].endswith("a-slow.tsv")


def test_a_local_manifest_removed_before_it_is_read_is_skipped_and_the_rest_processed(
        stack, resources, tmp_path, monkeypatch, caplog):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    gone = inbox / "a-gone.tsv"
    gone.write_bytes(stack.study.manifest.read_bytes() + b"\n")
    shutil.copy(stack.study.manifest, inbox / "b-good.tsv")
    read = LocalInbox.read

    def read_after_removal(self, file):
        if file.location == str(gone):
            gone.unlink(missing_ok=True)  # removed by someone else after the listing
        return read(self, file)

    monkeypatch.setattr(LocalInbox, "read", read_after_removal)
    monkeypatch.setenv(INBOX_ENV, str(inbox))
    sensor = Sensor(resources, log_handler=caplog.handler)
    with caplog.at_level(logging.WARNING):
        (request,) = sensor.tick().run_requests
    assert request.tags["gwo/manifest"] == str(inbox / "b-good.tsv")
    assert any("a-gone.tsv" in r.getMessage() and "removed between the listing and the read"
               in r.getMessage() for r in caplog.records)

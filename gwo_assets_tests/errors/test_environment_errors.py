"""Environment errors through the whole job: one sentence naming the setting to fix, no
retry storm (the services see a handful of requests), zero writes; transient 5xx are
retried with backoff and the run still succeeds.

S3 side: the sandbox's moto server accepts any key unless told otherwise, so wrong
credentials and access denied use moto's own switch (``POST /moto-api/reset-auth``, the
server-mode form of ``set_initial_no_auth_action_count``), after which moto checks the
signature against its IAM users and their policies. What S3 received is counted with
moto's request recorder. Missing credentials never reach S3 at all (botocore refuses to
sign), which the recorder confirms.
"""

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests
from dagster import DagsterInvalidConfigError, DagsterInstance

from gwo_assets.definitions import defs
from gwo_assets.sandbox.dataservice import FaultConfig
from gwo_assets.sandbox.dataservice.faults import FaultInjector
from gwo_assets_tests.errors import (error_log_lines, failure_messages, file_rows, read_report,
                                     step_events, write_manifest)
from gwo_assets_tests.errors.conftest import BUCKET
from gwo_assets_tests.support import run_config, run_ingest, stored_files, stored_link_pairs

CREDENTIALS_HINT = ("set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
                    "or the s3 resource's `profile_name`")
STUDY_READS = {"study_tables"}  # one step reads the five study tables


# ------------------------------------------------------------------------------ helpers


@pytest.fixture
def small_manifest(tmp_path, facts) -> Path:
    """The WGS outputs of one biospecimen (a cram and its index): a real, valid manifest."""
    outputs = facts.outputs(strategy="WGS")
    assert len(outputs) == 2
    return write_manifest(tmp_path / "manifest.tsv", [r for h in outputs for r in file_rows(h)])


@contextmanager
def moto_recording(stack, tmp_path: Path, monkeypatch) -> Iterator[callable]:
    """Record the requests the moto server receives; yields a reader of (method, path),
    moto's own ``/moto-api/`` calls left out."""
    from moto.moto_api import recorder

    monkeypatch.setattr(recorder, "_location", str(tmp_path / "moto-recording.jsonl"))
    api = f"{stack.s3.endpoint_url}/moto-api/recorder"
    requests.post(f"{api}/reset-recording", timeout=10).raise_for_status()
    requests.post(f"{api}/start-recording", timeout=10).raise_for_status()

    def received() -> list[tuple[str, str]]:
        path = Path(recorder._location)
        lines = path.read_text().splitlines() if path.exists() else []
        sent = [(entry["method"], entry["url"].split("?")[0].split("/", 3)[-1])
                for entry in map(json.loads, lines)]
        return [(method, path) for method, path in sent if not path.startswith("moto-api/")]

    try:
        yield received
    finally:
        requests.post(f"{api}/stop-recording", timeout=10)


@contextmanager
def moto_enforces_auth(stack) -> Iterator[None]:
    """moto checks every request's signature and IAM permissions until the block ends."""
    url = f"{stack.s3.endpoint_url}/moto-api/reset-auth"
    answer = requests.post(url, data=b"0", timeout=10).json()
    previous = answer["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
    try:
        yield
    finally:
        requests.post(url, data=previous.encode(), timeout=10).raise_for_status()


def upload_manifest(stack, path: Path, key: str) -> str:
    stack.s3.client().put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    return f"s3://{BUCKET}/{key}"


def user_without_permissions(stack, name: str) -> tuple[str, str]:
    """An IAM user of moto's account with an access key and no policy at all."""
    iam = boto3.client("iam", endpoint_url=stack.s3.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RefusingDataService:
    """A loopback HTTP server answering ``status`` to every request, counting them."""

    def __init__(self, status: int) -> None:
        self.requests: list[tuple[str, str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                outer.requests.append((self.command, self.path, self.headers.get("Authorization")))
                body = json.dumps({"_status": {"code": status, "message": "Unauthorized"
                                               if status == 401 else "Forbidden"}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _refuse

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RefusingDataService":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def assert_s3_step_failed_with(result, message: str) -> None:
    assert not result.success
    failures = failure_messages(result)
    assert failures.get("harmonized_file_s3_metadata") == message, failures
    # Downstream of the S3 scrape nothing ran: no plan, no write step.
    assert "genomic_files" not in step_events(result, "STEP_START")


# ------------------------------------------------------------------------------ S3


def test_no_aws_credentials_names_the_settings_and_never_reaches_s3(
        stack, small_manifest, tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        empty = tmp_path / name.lower()
        empty.write_text("")
        monkeypatch.setenv(name, str(empty))
    stack.dataservice.reset_counts()
    instance = DagsterInstance.ephemeral()
    with moto_recording(stack, tmp_path, monkeypatch) as received:
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=False,
                            manifest=str(small_manifest), instance=instance)
        assert received() == []  # botocore refuses to sign: not one request left the process
    message = f"No usable AWS credentials were found: {CREDENTIALS_HINT}"
    assert_s3_step_failed_with(result, message)
    assert message in error_log_lines(instance, result.run_id)  # the CLI's ERROR line
    assert stack.dataservice.write_count() == 0


def test_wrong_credentials_on_the_manifest_name_the_rejected_key(
        stack, small_manifest, tmp_path, monkeypatch):
    manifest = upload_manifest(stack, small_manifest, "manifests/wrong-key.tsv")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0")
    stack.dataservice.reset_counts()
    with moto_recording(stack, tmp_path, monkeypatch) as received, moto_enforces_auth(stack):
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, manifest=manifest)
        s3_requests = received()
    assert not result.success
    assert failure_messages(result)["gwo_manifest"] == (
        f"AWS rejected the credentials (InvalidAccessKeyId): {CREDENTIALS_HINT}")
    assert s3_requests == [("GET", f"{BUCKET}/manifests/wrong-key.tsv")]  # once, no retries
    assert stack.dataservice.write_count() == 0


def test_wrong_credentials_on_the_harmonized_files_head_each_object_once(
        stack, small_manifest, tmp_path, monkeypatch):
    """A HEAD error has no body: a bucket where every HEAD is refused is reported as denied."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0")
    stack.dataservice.reset_counts()
    with moto_recording(stack, tmp_path, monkeypatch) as received, moto_enforces_auth(stack):
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=False,
                            manifest=str(small_manifest))
        s3_requests = received()
    assert_s3_step_failed_with(
        result, f"Access to every object in S3 bucket '{BUCKET}' was denied: use credentials "
                f"allowed to read it ({CREDENTIALS_HINT})")
    assert sorted(method for method, _ in s3_requests) == ["HEAD"] * 2  # 2 files, each once
    assert stack.dataservice.write_count() == 0


def test_access_denied_names_the_bucket(stack, small_manifest, tmp_path, monkeypatch):
    manifest = upload_manifest(stack, small_manifest, "manifests/denied.tsv")
    key_id, secret = user_without_permissions(stack, f"no-s3-permissions-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    stack.dataservice.reset_counts()
    with moto_recording(stack, tmp_path, monkeypatch) as received, moto_enforces_auth(stack):
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, manifest=manifest)
        s3_requests = received()
    assert not result.success
    assert failure_messages(result)["gwo_manifest"] == (
        f"Access to S3 bucket '{BUCKET}' was denied: use credentials allowed to read it "
        f"({CREDENTIALS_HINT})")
    assert s3_requests == [("GET", f"{BUCKET}/manifests/denied.tsv")]
    assert stack.dataservice.write_count() == 0


def test_missing_bucket_names_the_bucket_and_the_manifest_paths(
        stack, facts, tmp_path, monkeypatch):
    outputs = facts.outputs(strategy="WGS")[:2]
    moved = [dict(row, filepath=row["filepath"].replace(f"s3://{BUCKET}/", "s3://gwo-errors-gone/"))
             for h in outputs for row in file_rows(h)]
    manifest = write_manifest(tmp_path / "gone.tsv", moved)
    stack.dataservice.reset_counts()
    with moto_recording(stack, tmp_path, monkeypatch) as received:
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, manifest=str(manifest))
        s3_requests = received()
    assert_s3_step_failed_with(
        result, "S3 bucket 'gwo-errors-gone' does not exist: check the file paths in the manifest "
                "(or the s3 resource's `endpoint_url`)")
    # One HEAD per object, then one HEAD on the bucket to tell "bucket gone" from "objects gone".
    assert sorted(s3_requests) == sorted(
        [("HEAD", f"gwo-errors-gone/{row['filepath'].split('/', 3)[3]}")
         for row in moved[::len(moved) // 2]] + [("HEAD", "gwo-errors-gone")])
    assert stack.dataservice.write_count() == 0


# ------------------------------------------------------------------------------ DataService


def test_unreachable_dataservice_names_the_url_and_stops_before_the_study_reads(
        stack, small_manifest, tmp_path):
    url = f"http://127.0.0.1:{closed_loopback_port()}"
    result = run_ingest({**stack.info, "dataservice_url": url}, tmp_path / "reports",
                        dry_run=False, manifest=str(small_manifest))
    assert not result.success
    assert failure_messages(result) == {"kf_study": (
        f"DataService at {url} is unavailable for GET /studies/{stack.study.study_id} "
        "(connection refused, after retries): check the dataservice resource's `url` setting "
        "and that the service is running")}
    # Fails fast: the five study reads (and every write) were never attempted.
    assert not STUDY_READS & step_events(result, "STEP_START")
    report = read_report(tmp_path / "reports", result.run_id)
    assert report["status"] == "failed" and report["stopped_at"] == "kf_study"
    assert report["errors"][0]["message"].startswith(f"DataService at {url} is unavailable")


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_names_the_token_variable_and_is_never_shown(
        status, stack, small_manifest, tmp_path):
    token = "sEcReT-t0ken-value"
    with RefusingDataService(status) as service:
        result = run_ingest({**stack.info, "dataservice_url": service.url}, tmp_path / "reports",
                            dry_run=False, manifest=str(small_manifest),
                            dataservice={"token": token})
    study_id = stack.study.study_id
    assert not result.success
    message = (f"DataService refused GET /studies/{study_id} with {status} "
               f"\"{'Unauthorized' if status == 401 else 'Forbidden'}\": set KF_DATASERVICE_TOKEN "
               "to a valid token for this DataService")
    assert failure_messages(result) == {"kf_study": message}
    # One request, no retry of a refusal; it did carry the token.
    assert service.requests == [("GET", f"/studies/{study_id}", f"Bearer {token}")]
    folder = tmp_path / "reports" / result.run_id
    assert read_report(tmp_path / "reports", result.run_id)["errors"][0]["message"] == message
    for path in folder.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path


def test_unknown_study_names_the_study_and_the_setting(stack, small_manifest, facts, tmp_path):
    missing = facts.unknown_kf_id("SD")
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False,
                        manifest=str(small_manifest), study_id=missing)
    assert not result.success
    assert failure_messages(result) == {"kf_study": (
        f"Study {missing} does not exist in the DataService at {stack.info['dataservice_url']}: "
        "check ingest.study_id (and dataservice.url)")}
    assert stack.dataservice.request_counts() == {"GET /studies": 1}
    assert stack.dataservice.write_count() == 0


# ------------------------------------------------------------------------------ configuration


def test_unset_dataservice_url_is_refused_before_the_run_starts(tmp_path, monkeypatch):
    monkeypatch.delenv("KF_DATASERVICE_URL", raising=False)
    config = run_config({"study_id": "SD_0A1B2C3D", "manifest": str(tmp_path / "m.tsv"),
                         "dataservice_url": "unused", "s3_endpoint_url": "http://127.0.0.1:9"},
                        dry_run=True, report_dir=tmp_path / "reports")
    del config["resources"]["dataservice"]
    with pytest.raises(DagsterInvalidConfigError, match='environment variable "KF_DATASERVICE_URL" '
                                                         "which is not set"):
        defs.resolve_job_def("ingest_gwo").execute_in_process(
            run_config=config, instance=DagsterInstance.ephemeral(), raise_on_error=False)


def test_malformed_study_id_fails_at_resource_initialisation(tmp_path):
    result = run_ingest({"study_id": "SD_123", "manifest": str(tmp_path / "m.tsv"),
                         "dataservice_url": "http://127.0.0.1:9",
                         "s3_endpoint_url": "http://127.0.0.1:9"},
                        tmp_path / "reports", dry_run=True)
    assert not result.success
    assert not step_events(result, "STEP_START")
    errors = [e.event_specific_data.error for e in result.all_events
              if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert "'SD_123' is not a valid SD kf_id: expected SD_ followed by 8 characters" in \
        errors[0].message


# ------------------------------------------------------------------------------ transient


def test_transient_503s_are_retried_and_the_run_converges(stack, facts, tmp_path):
    """20 % of requests answered 503: retried (GET) or resolved by lookup (POST), no duplicate.

    The files of the second participant only: other modules load other files of the study.
    """
    outputs = facts.participant_outputs(facts.other.participant.kf_id)
    rows = [row for harmonized in outputs for row in file_rows(harmonized)]
    manifest = write_manifest(tmp_path / "transient.tsv", rows)
    config = FaultConfig(error_rate=0.2, error_statuses=(503,), seed=1)
    stack.dataservice.reset_counts()
    stack.dataservice.set_faults(config)
    try:
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, manifest=str(manifest))
        received = sum(stack.dataservice.request_counts().values())
    finally:
        stack.dataservice.set_faults(None)
    assert result.success, failure_messages(result)
    # The injector draws per request in arrival order: replay it to count the 503s served.
    replay = FaultInjector(config)
    served_503 = sum(replay.next_fault("GET").error_status == 503 for _ in range(received))
    assert served_503 >= 5
    url = stack.info["dataservice_url"]
    study = stack.study
    for harmonized in outputs:
        files = stored_files(url, harmonized.filepath)
        assert len(files) == 1, harmonized.filepath
        links = stored_link_pairs(url, "/biospecimen-genomic-files", "biospecimen",
                                  files[0]["kf_id"])
        assert sorted(links) == sorted(b.kf_id for b in harmonized.biospecimens)
        experiments = stored_link_pairs(url, "/sequencing-experiment-genomic-files",
                                        "sequencing_experiment", files[0]["kf_id"])
        assert sorted(experiments) == sorted(
            {study.source_file(read).experiment_id for read in harmonized.source_reads})

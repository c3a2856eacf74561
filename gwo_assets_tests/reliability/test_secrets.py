"""Secrets never leave the process: not in logs, events, metadata, reports or errors.

Each run gets a sentinel DataService token (bound from KF_DATASERVICE_TOKEN as a
user sets it) and a sentinel AWS secret key, then everything the run left behind
is searched for them: every Dagster event-log entry serialized whole (messages,
metadata values, error infos with their stack traces) plus the stored run, the
Python log records, the captured stdout/stderr, and every file under the
report folder (for the CLI: also every file under DAGSTER_HOME). The tests also
prove the sentinels were in play: the sandbox DataService must have received
the bearer token on every request (its handler is wrapped to record headers,
see ``received_headers``; the sandbox itself does not record them), and the
S3 calls must have succeeded with the sentinel secret.
"""

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance
from dagster._serdes import serialize_value

from gwo_assets import definitions
from gwo_assets.sandbox.dataservice import FaultConfig
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.e2e.conftest import REPO
from gwo_assets_tests.support import execute_command, execute_ingest, run_config, run_ingest

TOKEN = "sentinel-token-7c1d9e"
AWS_SECRET = "sentinel-aws-secret-4b2f0a"
SENTINELS = (TOKEN, AWS_SECRET)
REJECT_EVERYTHING = FaultConfig(error_rate=1.0, error_statuses=(401,))


def load_definitions():
    """gwo_assets.definitions executed afresh, as Dagster loads it, with the current
    environment (the token is bound from KF_DATASERVICE_TOKEN only if set at load time)."""
    spec = importlib.util.spec_from_file_location("gwo_definitions_under_test", definitions.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.defs


def config_without_dataservice(stack, reports: Path) -> dict:
    """The run config a user writes: the DataService comes from the environment only."""
    config = run_config(stack.info, dry_run=False, report_dir=reports)
    del config["resources"]["dataservice"]
    return config


def files_text(*folders: Path) -> dict[str, str]:
    return {str(path): path.read_bytes().decode("utf-8", "replace")
            for folder in folders for path in folder.rglob("*") if path.is_file()}


def assert_no_sentinel(texts: dict[str, str]) -> None:
    leaks = {where: sentinel for where, text in texts.items() for sentinel in SENTINELS
             if sentinel in text}
    assert not leaks, f"secrets leaked into: {leaks}"


def dataservice_authorizations(headers: list[dict[str, str]]) -> set[str | None]:
    """Authorization of every DataService request (moto's S3 server is not our handler)."""
    return {h.get("authorization") for h in headers}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def python_logs():
    """Every Python log record at DEBUG and above while the test runs (urllib3, boto, ours)."""
    handler, root = _Records(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.records
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def sentinel_env(monkeypatch, stack):
    monkeypatch.setenv("KF_DATASERVICE_URL", stack.info["dataservice_url"])
    monkeypatch.setenv("KF_DATASERVICE_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)


@pytest.mark.parametrize("faults", [None, REJECT_EVERYTHING], ids=["real-run", "token-rejected"])
def test_in_process_run_never_shows_the_token_or_aws_secret(stack, sentinel_env, received_headers,
                                                             tmp_path, python_logs, capfd, faults):
    defs = load_definitions()
    reports = tmp_path / "reports"
    stack.dataservice.set_faults(faults)
    received_headers.clear()
    with DagsterInstance.ephemeral() as instance:
        result = execute_ingest(defs.resolve_job_def("ingest_gwo"),
                                config_without_dataservice(stack, reports), instance)
        stored_events = [serialize_value(entry) for entry in instance.all_logs(result.run_id)]
        stored_run = serialize_value(instance.get_run_by_id(result.run_id))
    stack.dataservice.set_faults(None)
    output = capfd.readouterr()

    events = "\n".join(stored_events)
    assert result.success is (faults is None)
    if faults is None:
        assert "GWO ingest SUCCESS" in events and "STEP_SUCCESS" in events
    else:  # the error path ran and says which variable to fix, without its value
        assert "KF_DATASERVICE_TOKEN" in events and "401" in events
    assert stack.info["study_id"] in events  # the serialized log is the real, full one
    assert (reports / result.run_id / "report.json").exists()
    assert dataservice_authorizations(received_headers) == {f"Bearer {TOKEN}"}
    assert {r.name.split(".")[0] for r in python_logs} >= {"urllib3", "botocore"}
    assert_no_sentinel({
        "event log": events, "stored run": stored_run,
        "python logging": "\n".join(f"{r.name} {r.getMessage()} {r.exc_info}" for r in python_logs),
        "stdout": output.out, "stderr": output.err,
        **files_text(reports),
    })


def execute_cli(config: dict, env: dict, tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        execute_command(path, config["resources"]["ingest"]["config"]["study_id"]), env=env,
        cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.e2e
def test_cli_run_never_shows_the_token_or_aws_secret(stack, process_env, received_headers,
                                                     tmp_path):
    env = {**process_env, "KF_DATASERVICE_TOKEN": TOKEN, "AWS_SECRET_ACCESS_KEY": AWS_SECRET}
    reports = tmp_path / "reports"
    config = config_without_dataservice(stack, reports)
    received_headers.clear()

    real = execute_cli(config, env, tmp_path, "real")
    stack.dataservice.set_faults(REJECT_EVERYTHING)
    rejected = execute_cli(config, env, tmp_path, "rejected")
    stack.dataservice.set_faults(None)

    assert real.returncode == 0, real.stderr[-3000:]
    assert "GWO ingest SUCCESS" in real.stderr
    assert rejected.returncode != 0 and "KF_DATASERVICE_TOKEN" in rejected.stderr
    assert dataservice_authorizations(received_headers) == {f"Bearer {TOKEN}"}
    assert_no_sentinel({
        "real stdout": real.stdout, "real stderr": real.stderr,
        "rejected stdout": rejected.stdout, "rejected stderr": rejected.stderr,
        **files_text(reports, Path(env["DAGSTER_HOME"])),
    })


@pytest.fixture
def token_stack(tmp_path):
    """A sandbox whose DataService answers 401 without ``Authorization: Bearer <TOKEN>``."""
    with SandboxStack(specimens=3, seed=23, workdir=tmp_path / "sandbox", token=TOKEN) as running:
        yield running


def test_a_run_config_that_sets_the_url_still_sends_the_environment_token(token_stack, tmp_path,
                                                                         monkeypatch, capfd):
    """The example run config sets dataservice.url (which replaces the bound resource config):
    the token from KF_DATASERVICE_TOKEN must still be sent."""
    monkeypatch.setenv("KF_DATASERVICE_TOKEN", TOKEN)
    reports = tmp_path / "reports"
    config = run_config(token_stack.info, dry_run=False, report_dir=reports)
    assert config["resources"]["dataservice"]["config"] == {"url": token_stack.info["dataservice_url"]}
    with DagsterInstance.ephemeral() as instance:
        result = execute_ingest(load_definitions().resolve_job_def("ingest_gwo"), config,
                                instance)
        events = "\n".join(serialize_value(entry) for entry in instance.all_logs(result.run_id))
    output = capfd.readouterr()
    assert result.success
    assert token_stack.dataservice.unauthorized_count() == 0
    assert token_stack.dataservice.write_count() > 0
    assert_no_sentinel({"event log": events, "stdout": output.out, "stderr": output.err,
                        **files_text(reports)})


def test_without_the_token_the_run_fails_naming_the_variable(token_stack, tmp_path, monkeypatch):
    monkeypatch.delenv("KF_DATASERVICE_TOKEN", raising=False)
    result = run_ingest(token_stack.info, tmp_path / "reports", dry_run=True)
    assert not result.success
    assert token_stack.dataservice.unauthorized_count() > 0
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "KF_DATASERVICE_TOKEN" in str(failure.event_specific_data)


@pytest.mark.e2e
def test_cli_with_the_example_config_and_the_token_variable_is_authenticated(token_stack,
                                                                              process_env,
                                                                              tmp_path):
    reports = tmp_path / "reports"
    config = yaml.safe_load((REPO / "examples" / "sandbox_run.yaml").read_text())
    config["resources"]["ingest"]["config"].update(
        study_id=token_stack.info["study_id"], manifest=token_stack.info["manifest"],
        report_dir=str(reports), dry_run=False)
    config["resources"]["dataservice"]["config"]["url"] = token_stack.info["dataservice_url"]
    config["resources"]["s3"]["config"]["endpoint_url"] = token_stack.info["s3_endpoint_url"]
    env = {**process_env, "KF_DATASERVICE_TOKEN": TOKEN,
           "KF_DATASERVICE_URL": token_stack.info["dataservice_url"]}
    run = execute_cli(config, env, tmp_path, "example")
    assert run.returncode == 0, run.stderr[-3000:]
    assert token_stack.dataservice.unauthorized_count() == 0
    assert token_stack.dataservice.write_count() > 0
    assert_no_sentinel({"stdout": run.stdout, "stderr": run.stderr,
                        **files_text(reports, Path(env["DAGSTER_HOME"]))})


def test_the_environment_token_only_goes_to_the_service_the_environment_names(monkeypatch):
    from gwo_assets.resources.dataservice import DataServiceResource

    monkeypatch.setenv("KF_DATASERVICE_TOKEN", TOKEN)
    monkeypatch.setenv("KF_DATASERVICE_URL", "https://kf-api-dataservice.example.org")
    assert DataServiceResource(url="https://kf-api-dataservice.example.org:443/").effective_token == TOKEN
    assert DataServiceResource(url="https://attacker.example.net").effective_token is None
    assert DataServiceResource(url="https://attacker.example.net", token="own").effective_token == "own"
    monkeypatch.delenv("KF_DATASERVICE_URL")
    assert DataServiceResource(url="http://127.0.0.1:5055").effective_token == TOKEN

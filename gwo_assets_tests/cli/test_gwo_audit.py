"""`gwo audit SD_...` in process on a loaded sandbox study, with an instance of its own: exit 0
and an OK line when DataService and S3 agree; after four planted drifts, exit 1 and last lines
naming each class, an example file, its fix and its CSV; nothing written to the DataService."""


import pytest
from dagster import DagsterInstance

from gwo_assets.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from gwo_assets.partitions import STUDY_PARTITIONS
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.audit.drift_helpers import plant_drift


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=6, seed=37, workdir=tmp_path / "sandbox") as running:
        yield running




def gwo(stack, reports, command: str, *extra: str) -> int:
    return main([command, stack.info["study_id"], *extra, "--report-dir", str(reports),
                 "--s3-endpoint-url", stack.info["s3_endpoint_url"]])


@pytest.mark.slow  # make test-e2e (CI): tens of seconds
def test_gwo_audit_exit_code_and_last_lines_say_what_is_wrong(stack, dagster_home, tmp_path,
                                                              capsys, monkeypatch):
    study, reports = stack.info["study_id"], tmp_path / "reports"
    assert gwo(stack, reports, "ingest", stack.info["manifest"], "--write") == EXIT_OK
    capsys.readouterr()

    stack.dataservice.reset_counts()
    assert gwo(stack, reports, "audit") == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"GWO audit OK for {study}: all {len(stack.study.harmonized)} audited "
                      "files agree with S3 (0 hidden, not audited)")

    planted = plant_drift(stack, stack.study, monkeypatch)
    assert gwo(stack, reports, "audit") == EXIT_FAILED
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"GWO audit DRIFT for {study}: 4 of {len(stack.study.harmonized)} audited "
                      "files disagree with S3: object gone 1, unreadable 1, changed 1, "
                      "availability wrong 1")
    lines = dict(zip(("object_gone", "unreadable", "changed", "availability_wrong"), out[1:5]))
    for name, line in lines.items():
        assert planted[name] in line and f"drift/{name}.csv" in line, line
    # the fix names the manifest of the study's last real ingest
    assert f"gwo ingest {study} {stack.info['manifest']} --write" in lines["changed"]
    assert "403 AccessDenied" in lines["unreadable"] and "s3:GetObject" in lines["unreadable"]
    assert "hide the record" in lines["object_gone"]
    assert out[5].startswith("Report: ") and out[5].endswith("drift_report.md")
    assert out[6].startswith("Run ") and f"partition {study}" in out[6]

    counts = stack.dataservice.request_counts()
    assert set(counts) == {"GET /studies", "GET /genomic-files"}, counts


def test_gwo_audit_of_an_unknown_study_fails_and_keeps_no_partition(stack, dagster_home,
                                                                    tmp_path, capsys):
    assert main(["audit", "SD_0A1B2C3D", "--report-dir", str(tmp_path / "r")]) == EXIT_FAILED
    assert capsys.readouterr().out.startswith("GWO audit FAILED for SD_0A1B2C3D")
    with DagsterInstance.get() as instance:
        assert not instance.has_dynamic_partition(STUDY_PARTITIONS.name, "SD_0A1B2C3D")


def test_gwo_audit_usage_errors_exit_2(dagster_home, monkeypatch, capsys):
    with pytest.raises(SystemExit) as bad_id:
        main(["audit", "SD_123"])
    assert bad_id.value.code == EXIT_USAGE
    monkeypatch.delenv("KF_DATASERVICE_URL")
    assert main(["audit", "SD_0A1B2C3D"]) == EXIT_USAGE
    assert "--dataservice-url" in capsys.readouterr().err

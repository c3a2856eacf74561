"""`gwo ingest`'s run config: the command line merged over --config; usage errors exit 2."""

import time
from pathlib import Path

import pytest
import yaml

from gwo_assets.cli import EXIT_USAGE, UsageError, build_parser, ingest_run_config, main

STUDY = "SD_A4M2HB1G"
ENV = {"KF_DATASERVICE_URL": "http://dataservice.test"}


def config_for(*argv: str, environ=ENV) -> dict:
    return ingest_run_config(build_parser().parse_args(["ingest", *argv]), environ)


def test_defaults_are_a_dry_run_of_the_study_with_the_url_from_the_environment(tmp_path,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = config_for(STUDY.lower(), "gwo.tsv")
    assert config["resources"] == {"ingest": {"config": {
        "study_id": STUDY, "manifest": str(tmp_path / "gwo.tsv"), "dry_run": True}}}
    assert config["loggers"]["console"]["config"]["log_level"] == "INFO"


def test_flags_override_the_config_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"resources": {
        "ingest": {"config": {"study_id": STUDY, "manifest": "old.tsv", "dry_run": False,
                              "report_dir": "old", "skip_invalid_rows": True}},
        "dataservice": {"config": {"url": "http://from-config", "max_concurrency": 4}},
        "s3": {"config": {"region_name": "us-west-2"}}},
        "loggers": {"console": {"config": {"log_level": "DEBUG"}}}}))
    config = config_for(STUDY, "s3://bucket/SD/gwo.tsv", "--config", str(path), "--report-dir",
                        "new", "--dataservice-url", "http://from-flag", "--s3-endpoint-url",
                        "http://s3.test")
    resources = config["resources"]
    assert resources["ingest"]["config"] == {
        "study_id": STUDY, "manifest": "s3://bucket/SD/gwo.tsv", "report_dir": "new",
        "dry_run": True,  # a `dry_run: false` in the file never writes without --write
        "skip_invalid_rows": True}
    assert resources["dataservice"]["config"] == {"url": "http://from-flag", "max_concurrency": 4}
    assert resources["s3"]["config"] == {"region_name": "us-west-2",
                                         "endpoint_url": "http://s3.test"}
    assert config["loggers"]["console"]["config"]["log_level"] == "DEBUG"
    assert config_for(STUDY, "s3://b/k.tsv", "--write")["resources"]["ingest"]["config"][
        "dry_run"] is False


def test_a_dataservice_section_without_url_gets_the_environments(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("resources: {dataservice: {config: {max_concurrency: 2}}}\n")
    config = config_for(STUDY, "s3://b/k.tsv", "--config", str(path))
    assert config["resources"]["dataservice"]["config"] == {"max_concurrency": 2,
                                                            "url": "http://dataservice.test"}


def test_a_config_naming_another_study_is_refused(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("resources: {ingest: {config: {study_id: SD_00000000}}}\n")
    with pytest.raises(UsageError, match="names study SD_00000000 but the command names"):
        config_for(STUDY, "s3://b/k.tsv", "--config", str(path))


def test_no_dataservice_anywhere_is_a_usage_error():
    with pytest.raises(UsageError, match="--dataservice-url URL or set KF_DATASERVICE_URL"):
        config_for(STUDY, "s3://b/k.tsv", environ={})


def test_a_bad_study_id_exits_2(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["ingest", "SD_123", "m.tsv"])
    assert exited.value.code == EXIT_USAGE
    assert "not a valid SD kf_id" in capsys.readouterr().err


def test_an_unreadable_config_exits_2(capsys, monkeypatch):
    monkeypatch.setenv("KF_DATASERVICE_URL", "http://dataservice.test")
    assert main(["ingest", STUDY, "m.tsv", "--config", "/nonexistent/run.yaml"]) == EXIT_USAGE
    assert "cannot read --config /nonexistent/run.yaml" in capsys.readouterr().err


def test_without_dagster_home_nothing_runs(capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("KF_DATASERVICE_URL", "http://dataservice.test")
    assert main(["ingest", STUDY, str(Path("m.tsv"))]) == EXIT_USAGE
    assert "DAGSTER_HOME is not set" in capsys.readouterr().err


@pytest.mark.parametrize("mistake", ["relative", "missing", "a file"])
def test_a_dagster_home_mistake_is_one_sentence_and_exit_2(mistake, tmp_path, monkeypatch,
                                                           capsys):
    """Issue 21 item 4: Dagster's DagsterInvariantViolationError traceback (exit 1) becomes
    one sentence naming the variable, exit 2 (a usage error), before anything runs."""
    monkeypatch.setenv("KF_DATASERVICE_URL", "http://127.0.0.1:9")  # never contacted
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.tsv").write_text("x\n")
    (tmp_path / "home-file").write_text("")
    home = {"relative": "dagster_home", "missing": str(tmp_path / "nope"),
            "a file": str(tmp_path / "home-file")}[mistake]
    (tmp_path / "dagster_home").mkdir()  # a relative path is refused even when it exists
    monkeypatch.setenv("DAGSTER_HOME", home)
    assert main(["ingest", STUDY, "m.tsv"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"gwo: error: DAGSTER_HOME={home} ")
    assert {"relative": "is a relative path", "missing": "does not exist",
            "a file": "is not a folder"}[mistake] in err
    assert main(["remove-partition", STUDY]) == EXIT_USAGE


def test_a_missing_local_manifest_exits_2_before_any_run(tmp_path, monkeypatch, capsys):
    """Issue 21 item 5: checked before a run starts (no run, no partition, no DataService)."""
    from dagster import DagsterInstance

    from gwo_assets.partitions import STUDY_PARTITIONS

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KF_DATASERVICE_URL", "http://127.0.0.1:9")  # never contacted
    started = time.monotonic()
    assert main(["ingest", STUDY, str(tmp_path / "missing.tsv")]) == EXIT_USAGE
    assert main(["ingest", STUDY, str(tmp_path)]) == EXIT_USAGE
    assert time.monotonic() - started < 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"gwo: error: MANIFEST {tmp_path / 'missing.tsv'} does not exist: give the "
                   "path of the GWO manifest (TSV, CSV or XLSX) or an s3://bucket/key URI",
                   f"gwo: error: MANIFEST {tmp_path} is not a file: give the path of the GWO "
                   "manifest (TSV, CSV or XLSX) or an s3://bucket/key URI"]
    with DagsterInstance.get() as instance:
        assert instance.get_runs() == []
        assert not instance.has_dynamic_partition(STUDY_PARTITIONS.name, STUDY)

"""`gwo ingest`'s run config: the command line merged over --config; usage errors exit 2."""

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

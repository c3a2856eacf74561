"""examples/sandbox_run.yaml and the run.yaml `make sandbox` writes are valid ingest_gwo configs."""

import re

import dagster as dg
import pytest
import yaml

from gwo_assets.definitions import defs
from gwo_assets.resources.run_settings import IngestSettings
from gwo_assets.sandbox.generator.plan import plan_study
from gwo_assets.sandbox.run_config import (EXAMPLE, REPO, SANDBOX_ENV, launch_commands,
                                           launch_instructions, write_run_config)


def assert_valid(config: dict) -> None:
    """Valid against ingest_gwo's config schema, and the ingest values pass their validators."""
    dg.validate_run_config(defs.resolve_job_def("ingest_gwo"), config)
    IngestSettings(**config["resources"]["ingest"]["config"])


def makefile_sandbox_args() -> dict[str, str]:
    makefile = (REPO / "Makefile").read_text()
    defaults = dict(re.findall(r"^(\w+)\s+\?=\s*(\S+)$", makefile, re.MULTILINE))
    recipe = makefile.split("\nsandbox: install\n", 1)[1].split("\n\n", 1)[0]
    recipe = re.sub(r"\$\((\w+)\)", lambda m: defaults.get(m.group(1), m.group(0)), recipe)
    return dict(re.findall(r"--([\w-]+) (\S+)", recipe))


def test_the_example_loads_against_the_jobs_config_schema():
    config = yaml.safe_load(EXAMPLE.read_text())
    assert_valid(config)
    config["resources"]["ingest"]["config"]["dry-run"] = False  # a typo the schema must catch
    with pytest.raises(dg.DagsterInvalidConfigError):
        assert_valid(config)


def test_the_example_names_what_make_sandbox_serves():
    """Seed 7's study id, the manifest the generator writes for it, the Makefile's ports."""
    args = makefile_sandbox_args()
    ingest = yaml.safe_load(EXAMPLE.read_text())["resources"]
    study_id = plan_study(int(args["specimens"]), int(args["seed"]), "gwo-sandbox").study_id
    assert ingest["ingest"]["config"]["study_id"] == study_id
    assert ingest["ingest"]["config"]["manifest"] == (
        f"{args['workdir']}/gwo-manifest-{study_id}.tsv")
    assert ingest["dataservice"]["config"]["url"] == (
        f"http://127.0.0.1:{args['dataservice-port']}")
    assert ingest["s3"]["config"]["endpoint_url"] == f"http://127.0.0.1:{args['s3-port']}"
    assert args["run-config"] == f"{args['workdir']}/run.yaml"


@pytest.fixture
def info(tmp_path):
    manifest = tmp_path / "work" / "gwo-manifest-SD_A4M2HB1G.tsv"
    return {"dataservice_url": "http://127.0.0.1:4101", "s3_endpoint_url": "http://127.0.0.1:4102",
            "study_id": "SD_A4M2HB1G", "manifest": str(manifest),
            "workdir": str(manifest.parent)}


def test_the_written_run_yaml_is_a_dry_run_of_this_sandbox_with_absolute_paths(info, tmp_path):
    path = write_run_config(tmp_path / "work" / "run.yaml", info)
    config = yaml.safe_load(path.read_text())
    assert_valid(config)
    ingest = config["resources"]["ingest"]["config"]
    assert ingest["study_id"] == "SD_A4M2HB1G" and ingest["dry_run"] is True
    assert ingest["manifest"] == info["manifest"]
    assert ingest["report_dir"] == str(tmp_path / "work" / "reports")
    assert config["resources"]["dataservice"]["config"]["url"] == info["dataservice_url"]
    assert config["resources"]["s3"]["config"]["endpoint_url"] == info["s3_endpoint_url"]
    header = path.read_text().split("resources:", 1)[0]
    assert "Launchpad" in header
    for command in launch_commands(path, info):
        assert command in header


def test_launch_instructions_name_the_ui_steps_and_the_cli(info, tmp_path):
    text = launch_instructions(tmp_path / "run.yaml", info)
    assert "make ui" in text and "Jobs > ingest_gwo > Launchpad" in text
    gwo, dg = launch_commands(tmp_path / "run.yaml", info)
    assert gwo == (f"{SANDBOX_ENV} .venv/bin/gwo ingest SD_A4M2HB1G {info['manifest']} "
                   f"--config {tmp_path / 'run.yaml'}")
    # dg launch fails on a partition nobody registered: it always names one, after gwo ingest
    assert f"dg launch --job ingest_gwo --partition SD_A4M2HB1G --config {tmp_path / 'run.yaml'}" \
        in dg
    assert text.index(gwo) < text.index(dg)


def test_the_examples_header_prints_the_commands_make_sandbox_prints(monkeypatch):
    """examples/sandbox_run.yaml's header shows the same commands as `make sandbox` (run from
    the repository, default SANDBOX_DIR); the e2e test runs them."""
    monkeypatch.chdir(REPO)
    args = makefile_sandbox_args()
    config = yaml.safe_load(EXAMPLE.read_text())["resources"]
    info = {"study_id": config["ingest"]["config"]["study_id"],
            "manifest": str(REPO / config["ingest"]["config"]["manifest"])}
    header = " ".join(line.lstrip("#").strip().rstrip("\\").strip()
                      for line in EXAMPLE.read_text().split("resources:", 1)[0].splitlines())
    for command in launch_commands(REPO / args["run-config"], info):
        assert " ".join(command.split()) in " ".join(header.split()), command

"""`dg launch` and `dagster job execute` as a user runs them: exit codes, writes, the report,
the summary line; `dg check defs` and `dg list defs`."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gwo_assets_tests.e2e.conftest import REPO
from gwo_assets_tests.support import execute_command, run_config

pytestmark = pytest.mark.e2e


def execute(config: dict, env: dict, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        execute_command(path, config["resources"]["ingest"]["config"]["study_id"]), env=env,
        cwd=REPO, capture_output=True, text=True, timeout=600)


def test_cli_dry_run_then_real_run(stack, process_env, tmp_path):
    reports = tmp_path / "reports"
    service = stack.dataservice
    service.reset_counts()
    dry = execute(run_config(stack.info, dry_run=True, report_dir=reports), process_env, tmp_path)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert service.write_count() == 0
    assert "GWO ingest SUCCESS (dry run)" in dry.stderr

    real = execute(run_config(stack.info, dry_run=False, report_dir=reports), process_env, tmp_path)
    assert real.returncode == 0, real.stderr[-3000:]
    n_files = len(stack.study.harmonized)
    assert service.request_counts().get("POST /genomic-files") == n_files
    assert "GWO ingest SUCCESS (real run)" in real.stderr


def test_cli_exits_non_zero_when_a_blocking_check_fails(stack, process_env, tmp_path):
    manifest = tmp_path / "bad.tsv"
    text = stack.study.manifest.read_text()
    first_data_line = text.splitlines()[1]
    data_type = first_data_line.split("\t")[6]
    manifest.write_text(text.replace(first_data_line, first_data_line.replace(data_type, "gvcf", 1), 1))
    reports = tmp_path / "reports"
    stack.dataservice.reset_counts()
    result = execute(run_config(stack.info, dry_run=False, report_dir=reports,
                                manifest=str(manifest)), process_env, tmp_path)
    assert result.returncode != 0
    assert stack.dataservice.write_count() == 0
    assert "row 2, column 'Data Type': 'gvcf'" in result.stderr
    report = next(reports.glob("*/report.json"))
    assert '"status": "failed"' in report.read_text()


DG = Path(sys.executable).parent / "dg"  # dagster-dg-cli, in the dev extra


def dg(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(DG), *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_dg_launch_dry_run_as_documented_prints_no_deprecation_warning(stack, process_env,
                                                                        tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(run_config(stack.info, dry_run=True,
                                              report_dir=tmp_path / "reports")))
    # dg validates the partition key before the run exists: the study's partition must be
    # registered already (by `gwo ingest`, the inbox sensor, the UI, or an earlier run).
    registered = subprocess.run(
        [sys.executable, "-c", "import sys; from dagster import DagsterInstance; "
         "from gwo_assets.partitions import register_study; "
         "register_study(DagsterInstance.get(), sys.argv[1])", stack.info["study_id"]],
        env=process_env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert registered.returncode == 0, registered.stderr[-2000:]
    stack.dataservice.reset_counts()
    result = dg("launch", "--job", "ingest_gwo", "--partition", stack.info["study_id"],
                "--config", str(path), env=process_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GWO ingest SUCCESS (dry run)" in result.stderr
    assert stack.dataservice.write_count() == 0
    output = result.stdout + result.stderr
    assert "Warning" not in output and "deprecat" not in output.lower(), output[-3000:]


def test_dg_check_defs_and_list_defs_see_the_jobs(process_env):
    checked = dg("check", "defs", env=process_env)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
    listed = dg("list", "defs", "--json", env=process_env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "ingest_gwo" in listed.stdout and "undo_gwo" in listed.stdout

"""`make demo`: start the sandbox, run ingest_gwo as a dry run then for real, summarize, stop.

It drives the same CLI a user runs (`dg launch --job ingest_gwo --config ...`), with run
configs rendered from examples/sandbox_run.yaml (gwo_assets.sandbox.run_config).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from gwo_assets.sandbox.run_config import REPO, render_run_config
from gwo_assets.sandbox.stack import SandboxStack

DG = Path(sys.executable).parent / "dg"  # dagster-dg-cli, installed beside this Python


def sandbox_env(info: dict) -> dict[str, str]:
    """Dummy AWS credentials for the moto server; nothing else of the caller's AWS setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", KF_DATASERVICE_URL=info["dataservice_url"])
    env.pop("KF_DATASERVICE_TOKEN", None)
    return env


def run_job(config_path: Path, study_id: str, env: dict[str, str]) -> int:
    """`dg launch` for the study's partition (dg validates the key: register it first)."""
    from dagster import DagsterInstance

    from gwo_assets.partitions import register_study

    with DagsterInstance.get() as instance:
        register_study(instance, study_id)
    command = [str(DG), "launch", "--job", "ingest_gwo", "--partition", study_id,
               "--config", str(config_path)]
    return subprocess.run(command, env=env, cwd=REPO).returncode


def newest_report(report_dir: Path) -> dict:
    reports = sorted(report_dir.glob("*/report.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(reports[-1].read_text()) if reports else {}


def print_summary(label: str, report: dict) -> None:
    print(f"\n== {label}: {report.get('status', 'no report').upper()} "
          f"({report.get('folder', '')}/report.md)")
    for step, counts in report.get("steps", {}).items():
        print(f"   {step:38s} create {counts['create']:5d}  update {counts['update']:5d}  "
              f"unchanged {counts['unchanged']:5d}  failed {counts['failed']:5d}")


def main() -> int:
    workdir = REPO / ".sandbox"
    report_dir = workdir / "reports"
    with SandboxStack(specimens=50, seed=7, workdir=workdir) as stack:
        info = stack.info
        print(f"Sandbox up: DataService {info['dataservice_url']}, S3 {info['s3_endpoint_url']}, "
              f"study {info['study_id']}, manifest {info['manifest']}")
        env = sandbox_env(info)
        stack.dataservice.reset_counts()  # count only what ingest_gwo sends
        outcomes = []
        for label, dry_run in (("dry run", True), ("real run", False)):
            config_path = workdir / f"run_{'dry' if dry_run else 'real'}.yaml"
            config = render_run_config(info, dry_run=dry_run, report_dir=report_dir)
            config_path.write_text(yaml.safe_dump(config, sort_keys=False))
            print(f"\n== {label}: dg launch --job ingest_gwo --partition {info['study_id']} "
                  f"--config {config_path}")
            code = run_job(config_path, info["study_id"], env)
            outcomes.append((label, code, newest_report(report_dir)))
        for label, code, report in outcomes:
            print_summary(f"{label} (exit code {code})", report)
        writes = {k: v for k, v in stack.dataservice.request_counts().items()
                  if not k.startswith("GET ")}
        print(f"\nWrites the sandbox DataService received from ingest_gwo: {writes}")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

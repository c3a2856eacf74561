"""`make demo`: the sandbox, a manifest dropped in its inbox, the dry run the inbox sensor
requests, then the analyst's real run with `gwo ingest ... --write`; a summary; sandbox stopped.

1. the sandbox starts (`.sandbox/`: DataService, moto S3, seed 7's study SD_A4M2HB1G);
2. its manifest is copied into the local inbox `.sandbox/inbox/SD_A4M2HB1G/`;
3. the `gwo_manifest_inbox` sensor is evaluated once, as the daemon would (its own code,
   through `build_sensor_context`; `dagster sensor preview -m gwo_assets gwo_manifest_inbox`
   shows the same from a shell): one dry-run request for the study's partition;
4. that request is launched as the daemon would launch it (`dagster job execute` with its run
   config and tags; the study's partition registered first, as the sensor asks);
5. the analyst read the dry run and loads exactly its plan:
   `gwo ingest SD_A4M2HB1G <manifest> --write --plan <the dry run's plan id>`;
6. weeks later a lifecycle rule moves one object to Glacier behind the DataService's back:
   `gwo audit SD_A4M2HB1G` (what the weekly `gwo_drift_audit` schedule runs per study) finds
   that one drift, says how to fix it, and exits 1.
Every run lands in the instance of `$DAGSTER_HOME` (`.dagster_home`, see `make ui`).

The demo tells the story: one line or a few per step, the report paths and where to look in
the UI. Each run's full log (Dagster's event log) goes to a file under `.sandbox/logs/`, whose
path is printed.
"""

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from gwo_assets.sandbox.run_config import REPO
from gwo_assets.sandbox.stack import SandboxStack

BIN = Path(sys.executable).parent  # dagster, gwo: installed beside this Python


def sandbox_env(info: dict) -> dict[str, str]:
    """Dummy AWS credentials for the moto server; nothing else of the caller's AWS setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", KF_DATASERVICE_URL=info["dataservice_url"])
    env.pop("KF_DATASERVICE_TOKEN", None)
    return env


def run_logged(command: list[str], env: dict[str, str], log: Path) -> tuple[int, str]:
    """Run ``command`` with its stdout and stderr in ``log`` (the full event log); return its
    exit code and its output."""
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, env=env, cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    log.write_text(done.stdout)
    return done.returncode, done.stdout


def last_lines(output: str, first: str) -> str:
    """The command's closing lines, from the last one starting with ``first``."""
    lines = output.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(first)]
    return "\n".join("   " + line for line in (lines[starts[-1]:] if starts else lines[-5:]))


def run_report(output: str) -> dict:
    """The report.json of the run whose output this is (its last `Report: .../report.md`)."""
    paths = re.findall(r"Report: (\S+)/report\.md", output)
    path = Path(paths[-1]) / "report.json" if paths else None
    return json.loads(path.read_text()) if path and path.is_file() else {}


def drop_in_inbox(inbox: Path, info: dict) -> Path:
    """A fresh inbox holding the sandbox's manifest under its study's folder."""
    shutil.rmtree(inbox, ignore_errors=True)
    target = inbox / info["study_id"] / Path(info["manifest"]).name
    target.parent.mkdir(parents=True)
    shutil.copy(info["manifest"], target)
    return target


def evaluate_sensor_once(inbox: Path, info: dict, report_dir: Path) -> list:
    """One tick of gwo_manifest_inbox on the instance of $DAGSTER_HOME; the study partitions
    it asks for are registered (the daemon's job), the run requests returned."""
    from dagster import DagsterInstance, build_sensor_context

    from gwo_assets.automation.inbox import INBOX_ENV
    from gwo_assets.automation.manifest_inbox import REPORT_DIR_ENV, gwo_manifest_inbox
    from gwo_assets.partitions import register_study
    from gwo_assets.resources.dataservice import DataServiceResource
    from gwo_assets.resources.s3 import S3Resource

    os.environ.update({INBOX_ENV: str(inbox), REPORT_DIR_ENV: str(report_dir)})
    resources = {"dataservice": DataServiceResource(url=info["dataservice_url"]),
                 "s3": S3Resource(endpoint_url=info["s3_endpoint_url"])}
    logging.disable(logging.INFO)  # the sensor's INFO line: the demo prints the request below
    with DagsterInstance.get() as instance, build_sensor_context(
            instance=instance, resources=resources) as context:
        try:
            result = gwo_manifest_inbox(context)
        finally:
            logging.disable(logging.NOTSET)
        for request in result.dynamic_partitions_requests:
            for study in request.partition_keys:
                register_study(instance, study)
    return list(result.run_requests)


def launch_request(request, workdir: Path, env: dict[str, str]) -> tuple[int, dict]:
    """The requested run as the daemon would start it: its run config, partition and tags."""
    config_path = workdir / "inbox_dry_run.yaml"
    config_path.write_text(yaml.safe_dump(request.run_config, sort_keys=False))
    tags = {**request.tags, "dagster/partition": request.partition_key}
    command = [str(BIN / "dagster"), "job", "execute", "-m", "gwo_assets", "-j", "ingest_gwo",
               "-c", str(config_path), "--tags", json.dumps(tags)]
    log = workdir / "logs" / "inbox_dry_run.log"
    print(f"\n== 2. the requested dry run, as the daemon would launch it: dagster job execute "
          f"-m gwo_assets -j ingest_gwo -c {config_path} --tags '{{\"dagster/partition\": "
          f"\"{request.partition_key}\", ...}}'")
    code, output = run_logged(command, env, log)
    summary = [line.split(" - ingest_report - ", 1)[1] for line in output.splitlines()
               if " - ingest_report - GWO ingest " in line]
    print("   " + (summary[-1] if summary else f"(no summary line; see {log})"))
    print(f"   exit code {code}; full log: {log}")
    return code, run_report(output)


def audit_after_planted_drift(stack: SandboxStack, report_dir: Path,
                              env: dict[str, str]) -> bool:
    """Move one loaded STANDARD object to GLACIER (as a lifecycle rule would), then `gwo audit`:
    True when the audit found exactly that one drift and exited 1 saying so."""
    study = stack.study
    moved = next(h for h in study.harmonized if h.storage_class == "STANDARD" and not h.multipart)
    stack.s3.client().copy_object(Bucket=study.bucket, Key=moved.key, StorageClass="GLACIER",
                                  CopySource={"Bucket": study.bucket, "Key": moved.key})
    print(f"\n== 4. weeks later a lifecycle rule moves {moved.filepath} to GLACIER; the "
          f"DataService still says Immediate Download\n   the drift audit (what the weekly "
          f"gwo_drift_audit schedule runs per study): gwo audit {study.study_id} --report-dir "
          f"{report_dir} --s3-endpoint-url {stack.s3.endpoint_url}")
    stack.dataservice.reset_counts()
    audit = [str(BIN / "gwo"), "audit", study.study_id, "--report-dir", str(report_dir),
             "--s3-endpoint-url", stack.s3.endpoint_url]
    log = report_dir.parent / "logs" / "audit.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as events:  # the audit's event log (stderr) to the file only
        done = subprocess.run(audit, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=events,
                              text=True)
    print("".join(f"   {line}\n" for line in done.stdout.splitlines()), end="")
    print(f"   full log: {log}")
    writes = {k: v for k, v in stack.dataservice.request_counts().items()
              if not k.startswith("GET ")}
    found = (done.returncode == 1 and "1 of" in done.stdout and "availability wrong 1" in
             done.stdout and moved.filepath in done.stdout and not writes)
    print(f"== audit exit code {done.returncode}: "
          + (f"it found the one planted drift ({moved.filepath}: availability wrong) and wrote "
             "nothing" if found else f"expected exactly the planted drift (writes: {writes})"))
    return found


def main() -> int:
    workdir = REPO / ".sandbox"
    report_dir = workdir / "reports"
    with SandboxStack(specimens=50, seed=7, workdir=workdir) as stack:
        info = stack.info
        study = info["study_id"]
        print(f"Sandbox up: DataService {info['dataservice_url']}, S3 {info['s3_endpoint_url']}, "
              f"study {study}, manifest {info['manifest']}")
        env = sandbox_env(info)
        stack.dataservice.reset_counts()  # count only what ingest_gwo and the sensor send
        manifest = drop_in_inbox(workdir / "inbox", info)
        print(f"\n== 1. a manifest arrives in the inbox: {manifest}\n"
              f"   gwo_manifest_inbox evaluated once, as the daemon would (from a shell: "
              f"GWO_MANIFEST_INBOX={workdir / 'inbox'} dagster sensor preview -m gwo_assets "
              f"gwo_manifest_inbox)")
        requests = evaluate_sensor_once(workdir / "inbox", info, report_dir)
        for request in requests:
            print(f"   requested: a dry run of partition {request.partition_key} (run key = the "
                  f"manifest's sha256 {request.run_key[:12]}..., tags gwo/manifest, "
                  f"gwo/manifest_sha256)")
        if len(requests) != 1:
            print(f"expected one dry-run request, the sensor made {len(requests)}")
            return 1
        dry_code, dry_run = launch_request(requests[0], workdir, env)
        plan = (dry_run.get("plan") or {}).get("plan_id", "")
        print(f"   the plan to review: id {plan or '(none)'}, in report.md and, in the UI, the "
              f"run's ingest_report and ingest_plan assets")
        write = [str(BIN / "gwo"), "ingest", study, str(manifest), "--write",
                 *(["--plan", plan] if plan else []), "--report-dir", str(report_dir),
                 "--s3-endpoint-url", info["s3_endpoint_url"]]
        print(f"\n== 3. the analyst read the dry run and loads exactly its plan: gwo ingest "
              f"{study} {manifest} --write --plan {plan} --report-dir {report_dir} "
              f"--s3-endpoint-url {info['s3_endpoint_url']}")
        log = workdir / "logs" / "real_run.log"
        code, output = run_logged(write, env, log)
        print(last_lines(output, "GWO ingest "))
        print(f"   exit code {code}; full log: {log}")
        real_run = run_report(output)
        writes = {k: v for k, v in stack.dataservice.request_counts().items()
                  if not k.startswith("GET ")}
        print(f"   writes the sandbox DataService received: {writes}")
        print(f"\n== in the UI (`make ui`, instance {os.environ.get('DAGSTER_HOME')}): Runs "
              f"lists both runs (tag gwo/dry_run); Assets > genomic_files > partition {study} "
              f"is materialized by the real run only; each asset's Checks tab, per partition")
        audited = audit_after_planted_drift(stack, report_dir, env)
    loaded = (dry_code == 0 and code == 0 and real_run.get("status") == "success"
              and (real_run.get("plan") or {}).get("matches_approved") is not False)
    print(f"\nmake demo: {'the story ran as told' if loaded and audited else 'FAILED, see above'}")
    return 0 if loaded and audited else 1


if __name__ == "__main__":
    sys.exit(main())

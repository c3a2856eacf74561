"""Time the drift audit of a ~10,000-file study (issue 23: < 60 s on the sandbox).

``python -m gwo_assets_tests.bench.drift_audit [--files 10000]``: sandbox servers in their own
processes (as ``make bench``), a bench study built and loaded by ingest_gwo, then ``audit_gwo``
on it, timed, with its request counts (the DataService must see GETs only). Not part of
``make test``.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance

from gwo_assets.audit.job import audit_run_config
from gwo_assets.definitions import defs
from gwo_assets.partitions import register_study
from gwo_assets_tests.bench.host import DataServiceProcess, ServerProcess
from gwo_assets_tests.bench.pipeline_run import QUIET_LOGGERS, run_pipeline
from gwo_assets_tests.bench.study import build_study, plan_for_files


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    workdir = Path(tempfile.mkdtemp(prefix="gwo-audit-bench-"))
    plan = plan_for_files(args.files, args.seed)
    with ServerProcess("s3") as s3, DataServiceProcess() as dataservice:
        study = build_study(plan, [dataservice.url], s3.url, workdir)
        print(f"study {plan.study_id}: {study.files:,} files built in {study.seconds:.0f} s")
        load, _ = run_pipeline("load", dataservice, s3.url, plan.study_id, study.manifest,
                               workdir / "reports")
        assert load.success, "the load failed"
        print(f"loaded in {load.seconds:.1f} s; auditing")
        instance = DagsterInstance.ephemeral()
        register_study(instance, plan.study_id)
        config = {**audit_run_config(str(workdir / "reports")), "loggers": QUIET_LOGGERS,
                  "resources": {"dataservice": {"config": {"url": dataservice.url}},
                                "s3": {"config": {"endpoint_url": s3.url}}}}
        dataservice.reset_counts()
        started = time.perf_counter()
        result = defs.resolve_job_def("audit_gwo").execute_in_process(
            run_config=config, instance=instance, partition_key=plan.study_id)
        seconds = time.perf_counter() - started
        drift = result.output_for_node("drift_audit")
        step = result.asset_materializations_for_node("drift_audit")[0].metadata
        print(f"audit of {len(drift):,} files: {seconds:.1f} s (run), "
              f"{step['duration_seconds'].value:.1f} s (reads + HEADs); statuses "
              f"{drift['status'].value_counts().to_dict()}; DataService "
              f"{dataservice.stats()['requests']}, S3 {step['s3_requests'].value}; "
              f"load average {os.getloadavg()[0]:.1f}")
    return 0 if seconds < 60 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""``gwo audit SD_XXXXXXXX``: the drift audit of one study from the command line.

Runs ``audit_gwo`` for the study's partition on your instance (``$DAGSTER_HOME``, so the run
and its check results show in the UI), registering the partition if it is new (so the weekly
schedule audits the study from then on; a study the DataService does not know is not kept).
Read-only. Ends with the summary line, one line per drift class found (count, an example, the
fix, the CSV) and the report's path. Exit code 0 when the DataService and S3 agree, 1 when
drift was found or the audit failed, 2 for a usage error - as ``gwo ingest``.

``cli.py`` only hooks ``add_audit_parser`` into its subcommands.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
URL_ENV = "KF_DATASERVICE_URL"


def add_audit_parser(commands: Any, study_type: Any) -> None:
    """The ``audit`` subcommand; ``study_type`` parses a study kf_id (cli.py's ``_study_id``)."""
    audit = commands.add_parser(
        "audit", help="audit one study: does the DataService still describe its S3 objects?",
        description="Run audit_gwo for one study's partition (read-only): its harmonized "
                    "genomic files against their S3 objects. Exit 0 when they agree, 1 when "
                    "drift was found or the audit failed, 2 on usage errors.")
    audit.add_argument("study", type=study_type, metavar="SD_XXXXXXXX",
                       help="the study's kf_id (its partition)")
    from gwo_assets.cli import add_run_options  # loaded already: cli.py calls this function

    add_run_options(audit, reports="drift_report.md/.json and the CSVs",
                    config="an audit_gwo run config (resources: dataservice, s3)")
    audit.set_defaults(run=run_audit)


def audit_run_config(args: argparse.Namespace, environ: dict[str, str] | None = None
                     ) -> dict[str, Any]:
    from gwo_assets.cli import UsageError, _read_config, _section

    environ = os.environ if environ is None else environ
    config = copy.deepcopy(_read_config(args.config)) if args.config else {}
    resources = _section(config, "resources")
    resources.pop("ingest", None)  # an ingest run config may be reused as is
    if args.report_dir:
        op = _section(_section(_section(config, "ops"), "drift_audit"), "config")
        op["report_dir"] = args.report_dir
    dataservice = _section(_section(resources, "dataservice"), "config")
    if args.dataservice_url:
        dataservice["url"] = args.dataservice_url
    if not dataservice.get("url"):
        if not environ.get(URL_ENV):
            raise UsageError(f"no DataService: pass --dataservice-url URL or set {URL_ENV}")
        if dataservice:
            dataservice["url"] = environ[URL_ENV]
        else:
            del resources["dataservice"]
    if args.s3_endpoint_url:
        _section(_section(resources, "s3"), "config")["endpoint_url"] = args.s3_endpoint_url
    config.setdefault("loggers", {"console": {"config": {"log_level": "INFO"}}})
    return config


def run_audit(args: argparse.Namespace) -> int:
    from gwo_assets.cli import UsageError

    config = audit_run_config(args)
    if not os.environ.get("DAGSTER_HOME"):
        raise UsageError("DAGSTER_HOME is not set: point it at your Dagster instance (from the "
                         "repository: export DAGSTER_HOME=$PWD/.dagster_home, set up by `make "
                         "install`) so the audit is kept and shows in the UI")
    from dagster import DagsterInstance, execute_job
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.errors import DagsterError

    from gwo_assets.audit.job import AUDIT_TAG
    from gwo_assets.audit.report import fix_lines, report_path, summary_line
    from gwo_assets.partitions import PARTITION_TAG, STUDY_PARTITIONS, register_study
    from gwo_assets.resources.dataservice_client import public_url

    url = config["resources"].get("dataservice", {}).get("config", {}).get("url") \
        or os.environ.get(URL_ENV, "")
    print(f"gwo: audit_gwo (read-only) for {args.study}: DataService {public_url(url)}, "
          f"instance {os.environ['DAGSTER_HOME']}", file=sys.stderr, flush=True)
    job = ReconstructableRepository.for_module(
        "gwo_assets", "defs", working_directory=os.getcwd()).get_reconstructable_job("audit_gwo")
    report_dir = ((config.get("ops") or {}).get("drift_audit") or {}).get("config", {}) \
        .get("report_dir", "reports")
    with DagsterInstance.get() as instance:
        added = register_study(instance, args.study)
        try:
            result = execute_job(job, instance, run_config=config,
                                 tags={PARTITION_TAG: args.study, AUDIT_TAG: "true"})
        except DagsterError as error:
            print(f"gwo: the audit was refused: {error}", file=sys.stderr)
            return EXIT_FAILED
        path = report_path(report_dir, result.run_id)
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            report = None
        if report is None:
            if added:  # not a study the DataService knows (or the audit never got that far)
                instance.delete_dynamic_partition(STUDY_PARTITIONS.name, args.study)
            print(f"GWO audit FAILED for {args.study}: run {result.run_id} ended before its "
                  "report; see the log above.")
            return EXIT_FAILED
    print(summary_line(report))
    for line in fix_lines(report):
        print(line)
    print(f"Report: {report['report_md']}")
    print(f"Run {result.run_id}: in the UI under Runs, or Assets > drift_audit > partition "
          f"{args.study} (its checks).")
    return EXIT_OK if result.success and report["drifted"] == 0 else EXIT_FAILED

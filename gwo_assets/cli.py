"""``gwo``: the analysts' command line.

``gwo ingest SD_XXXXXXXX MANIFEST`` registers the study's partition and runs ``ingest_gwo`` for
it on your Dagster instance (``$DAGSTER_HOME``, so the run shows in the UI), a dry run unless
``--write``; the job's INFO log shows its progress on stderr, and the command ends with the
summary line and the report's path. Exit code 0 when the run succeeded, 1 when anything that
stops the load failed (a blocking check, an unreadable manifest, a failed write, a refused
config), 2 for a usage error.

The same run without it: ``dagster job execute -m gwo_assets -j ingest_gwo -c run.yaml --tags
'{"dagster/partition": "SD_..."}'`` or ``dg launch --job ingest_gwo --partition SD_... --config
run.yaml``, once the study's partition exists (``gwo ingest`` and the inbox sensor add it).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from gwo_assets.core.kf_ids import normalize_kf_id, validate_kf_id
from gwo_assets.core.s3_uris import is_s3_uri

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
URL_ENV = "KF_DATASERVICE_URL"


class UsageError(Exception):
    """Something to change on the command line or in the environment: exit 2."""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"gwo: error: {error}", file=sys.stderr)
        return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gwo", description="Load GWO manifests into the Kids First DataService (ingest_gwo "
                                "on your Dagster instance, $DAGSTER_HOME).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ingest = commands.add_parser(
        "ingest", help="dry-run (default) or load one study's GWO manifest",
        description="Run ingest_gwo for one study's partition: a dry run unless --write. "
                    "Exit 0 on success, 1 when anything that stops the load failed, 2 on "
                    "usage errors.")
    ingest.add_argument("study", type=_study_id, metavar="SD_XXXXXXXX",
                        help="the study's kf_id (its partition)")
    ingest.add_argument("manifest", metavar="MANIFEST",
                        help="the GWO manifest: a local path or an s3://bucket/key URI")
    ingest.add_argument("--write", action="store_true",
                        help="load for real (default: a dry run that writes nothing; a "
                             "`dry_run: false` in --config does not write without it)")
    ingest.add_argument("--report-dir", metavar="DIR",
                        help="where report.json/report.md go (<DIR>/<run_id>/; default reports)")
    ingest.add_argument("--dataservice-url", metavar="URL",
                        help=f"the DataService (default: --config's, else ${URL_ENV})")
    ingest.add_argument("--s3-endpoint-url", metavar="URL",
                        help="an S3-compatible endpoint, e.g. the sandbox's moto server")
    ingest.add_argument("--config", type=Path, metavar="run.yaml",
                        help="an ingest_gwo run config for everything else; the options above "
                             "override it")
    ingest.set_defaults(run=run_ingest)
    # `gwo audit SD_...`: the drift audit, self-contained in gwo_assets/audit/cli.py.
    from gwo_assets.audit.cli import add_audit_parser
    add_audit_parser(commands, _study_id)
    return parser


def _study_id(text: str) -> str:
    try:
        return validate_kf_id(normalize_kf_id(text), "SD")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# ---------------------------------------------------------------- run config


def ingest_run_config(args: argparse.Namespace, environ: dict[str, str] | None = None
                      ) -> dict[str, Any]:
    """``--config`` (if any) with the command line merged over it."""
    environ = os.environ if environ is None else environ
    config = copy.deepcopy(_read_config(args.config)) if args.config else {}
    resources = _section(config, "resources")
    ingest = _section(_section(resources, "ingest"), "config")
    named = ingest.get("study_id")
    if named and normalize_kf_id(str(named)) != args.study:
        raise UsageError(f"{args.config} names study {named} but the command names {args.study}; "
                         "remove study_id from the config or run the study it names")
    ingest["study_id"] = args.study
    ingest["manifest"] = (args.manifest if is_s3_uri(args.manifest)
                          else str(Path(args.manifest).expanduser().resolve()))
    ingest["dry_run"] = not args.write
    if args.report_dir:
        ingest["report_dir"] = args.report_dir
    dataservice = _section(_section(resources, "dataservice"), "config")
    if args.dataservice_url:
        dataservice["url"] = args.dataservice_url
    if not dataservice.get("url"):
        if not environ.get(URL_ENV):
            raise UsageError(f"no DataService: pass --dataservice-url URL or set {URL_ENV}")
        if dataservice:  # per-run config replaces the code location's binding of the url
            dataservice["url"] = environ[URL_ENV]
        else:  # the code location's binding: $KF_DATASERVICE_URL
            del resources["dataservice"]
    if args.s3_endpoint_url:
        _section(_section(resources, "s3"), "config")["endpoint_url"] = args.s3_endpoint_url
    config.setdefault("loggers", {"console": {"config": {"log_level": "INFO"}}})
    return config


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(path.read_text())
    except OSError as error:
        raise UsageError(f"cannot read --config {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"--config {path} is not valid YAML: {error}") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise UsageError(f"--config {path} must be a mapping (resources:, loggers:, ...)")
    return config


def _section(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    if not isinstance(value, dict):
        raise UsageError(f"`{key}` in --config must be a mapping")
    return value


# ---------------------------------------------------------------- running


def run_ingest(args: argparse.Namespace) -> int:
    config = ingest_run_config(args)
    if not os.environ.get("DAGSTER_HOME"):
        raise UsageError("DAGSTER_HOME is not set: point it at your Dagster instance (from the "
                         "repository: export DAGSTER_HOME=$PWD/.dagster_home, set up by `make "
                         "install`) so the run is kept and shows in the UI")
    # Dagster is imported only now: `gwo --help` and usage errors stay fast.
    from dagster import DagsterInstance, execute_job
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.errors import DagsterError

    from gwo_assets.partitions import PARTITION_TAG, register_study
    from gwo_assets.resources.dataservice_client import public_url

    ingest = config["resources"]["ingest"]["config"]
    mode = "dry run (writes nothing; add --write to load)" if ingest["dry_run"] else "REAL RUN"
    url = config["resources"].get("dataservice", {}).get("config", {}).get("url") \
        or os.environ.get(URL_ENV, "")
    print(f"gwo: ingest_gwo {mode} for {args.study}: manifest {ingest['manifest']}, DataService "
          f"{public_url(url)}, instance {os.environ['DAGSTER_HOME']}", file=sys.stderr, flush=True)
    job = ReconstructableRepository.for_module(
        "gwo_assets", "defs", working_directory=os.getcwd()).get_reconstructable_job("ingest_gwo")
    with DagsterInstance.get() as instance:
        register_study(instance, args.study)
        try:
            result = execute_job(job, instance, run_config=config,
                                 tags={PARTITION_TAG: args.study})
        except DagsterError as error:  # refused config: nothing ran
            print(f"gwo: the run was refused: {error}", file=sys.stderr)
            return EXIT_FAILED
        return _finish(result.run_id, result.success, Path(ingest.get("report_dir", "reports")),
                       args)


def _finish(run_id: str, success: bool, report_dir: Path, args: argparse.Namespace) -> int:
    """The summary line and the report path on stdout; the exit code."""
    from gwo_assets.assets.report import summary_line

    report_path = report_dir / run_id / "report.json"
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        report = None
    if report is None:
        print(f"Run {run_id} FAILED before writing its report; see the log above.")
        return EXIT_FAILED
    print(summary_line(report))
    print(f"Report JSON: {report_path}")
    print(f"Run {run_id}: in the UI under Runs, or the asset catalog's partition {args.study}.")
    ok = success and report.get("status") == "success"
    if ok and report.get("dry_run"):
        print(f"To load it: gwo ingest {args.study} {args.manifest} --write"
              + "".join(f" {flag} {value}" for flag, value in (
                  ("--report-dir", args.report_dir), ("--dataservice-url", args.dataservice_url),
                  ("--s3-endpoint-url", args.s3_endpoint_url), ("--config", args.config))
                  if value))
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

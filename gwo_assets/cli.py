"""``gwo``: the analysts' command line.

``gwo ingest SD_XXXXXXXX MANIFEST`` checks ``$DAGSTER_HOME``, a local MANIFEST and that the
study exists in the DataService (one ``GET /studies/<kf_id>``), then registers the study's
partition and runs ``ingest_gwo`` for it on your Dagster instance (so the run shows in the
UI), a dry run unless ``--write``; the job's INFO log shows its progress on stderr (expected
failures as one sentence, without stack trace), and the command ends with the summary line,
the first blocking problem (``Cause: ...``) and the report's path. Exit code 0 when the run
succeeded, 1 when anything that stops the load failed (a blocking check, an unreadable
manifest, a failed write, a refused config, a DataService that cannot be asked), 2 for a
usage error (nothing ran, nothing registered). ``gwo remove-partition SD_XXXXXXXX`` deletes a
study's partition key. Exit codes and messages: docs/errors.md.

The same run without it: ``dagster job execute -m gwo_assets -j ingest_gwo -c run.yaml --tags
'{"dagster/partition": "SD_..."}'`` or ``dg launch --job ingest_gwo --partition SD_... --config
run.yaml``, once the study's partition exists (``gwo ingest`` and the inbox sensor add it).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import os
import re
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


def add_run_options(command: argparse.ArgumentParser, *, reports: str, config: str) -> None:
    """The options every run-launching subcommand shares: where reports go, which DataService
    and S3, and a run config for the rest (``reports``/``config`` word their help)."""
    command.add_argument("--report-dir", metavar="DIR",
                         help=f"where {reports} go (<DIR>/<run_id>/; default reports)")
    command.add_argument("--dataservice-url", metavar="URL",
                         help=f"the DataService (default: --config's, else ${URL_ENV})")
    command.add_argument("--s3-endpoint-url", metavar="URL",
                         help="an S3-compatible endpoint, e.g. the sandbox's moto server")
    command.add_argument("--config", type=Path, metavar="run.yaml",
                         help=f"{config}; the options above override it")


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
    ingest.add_argument("--plan", metavar="ID",
                        help="with --write: write only if the run's fresh plan is exactly the "
                             "plan ID a reviewed dry run printed; otherwise write nothing and "
                             "name the difference (recommended for production loads)")
    add_run_options(ingest, reports="report.json/report.md",
                    config="an ingest_gwo run config for everything else")
    ingest.set_defaults(run=run_ingest)
    remove = commands.add_parser(
        "remove-partition", help="remove a study's partition key from your instance",
        description="Delete the study's key of the gwo_study partitions (e.g. a mistyped study "
                    "an older version registered) from the instance of $DAGSTER_HOME. Its runs "
                    "and their logs stay. Exit 0, or 2 on usage errors.")
    remove.add_argument("study", type=_study_id, metavar="SD_XXXXXXXX",
                        help="the study's kf_id (its partition key)")
    remove.set_defaults(run=run_remove_partition)
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
    if getattr(args, "plan", None):
        ingest["approved_plan"] = args.plan
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


# ---------------------------------------------------------------- checks before a run


def dagster_home(environ: dict[str, str] | None = None) -> Path:
    """``$DAGSTER_HOME`` as Dagster needs it (set, absolute, an existing folder), else a
    one-sentence UsageError instead of Dagster's traceback."""
    environ = os.environ if environ is None else environ
    raw = environ.get("DAGSTER_HOME", "")
    if not raw:
        raise UsageError("DAGSTER_HOME is not set: point it at your Dagster instance (from the "
                         "repository: export DAGSTER_HOME=$PWD/.dagster_home, set up by `make "
                         "install`) so the run is kept and shows in the UI")
    home = Path(os.path.expanduser(raw))
    if not home.is_absolute():
        raise UsageError(f"DAGSTER_HOME={raw} is a relative path: Dagster needs an absolute one "
                         f"(e.g. export DAGSTER_HOME={Path(raw).resolve()})")
    if not home.is_dir():
        what = "is not a folder" if home.exists() else "does not exist"
        raise UsageError(f"DAGSTER_HOME={raw} {what}: point it at your instance's folder (from "
                         "the repository: export DAGSTER_HOME=$PWD/.dagster_home, set up by "
                         f"`make install`), or create it with mkdir -p {raw}")
    return home


def check_local_manifest(manifest: str) -> None:
    """A local MANIFEST must be a readable file before any run starts (an s3:// one is read by
    the run, with the run's credentials)."""
    if is_s3_uri(manifest):
        return
    path = Path(manifest)
    if not path.exists():
        raise UsageError(f"MANIFEST {manifest} does not exist: give the path of the GWO manifest "
                         "(TSV, CSV or XLSX) or an s3://bucket/key URI")
    if not path.is_file():
        raise UsageError(f"MANIFEST {manifest} is not a file: give the path of the GWO manifest "
                         "(TSV, CSV or XLSX) or an s3://bucket/key URI")
    if not os.access(path, os.R_OK):
        raise UsageError(f"MANIFEST {manifest} is not readable: check its permissions")


class EnvironmentProblem(Exception):
    """Nothing ran because the environment is not usable (exit 1): ``str()`` says why."""


def check_study_exists(study: str, config: dict[str, Any]) -> None:
    """One GET /studies/<study> on the run's DataService before anything is registered:
    UsageError when it does not exist, EnvironmentProblem when it cannot be asked."""
    from gwo_assets.partitions import StudyRefused, StudyUncheckable, check_study, dataservice_of

    url, token = dataservice_of(config, os.environ)
    try:
        check_study(study, url, token)
    except StudyRefused as error:
        raise UsageError(f"{error}; nothing ran and no partition was registered") from None
    except StudyUncheckable as error:
        raise EnvironmentProblem(f"{error}; nothing ran and no partition was registered"
                                 ) from None


def open_instance(home: Path):
    """The instance of ``$DAGSTER_HOME``; a UsageError naming its dagster.yaml when it cannot
    be opened."""
    from dagster import DagsterInstance
    from dagster._core.errors import DagsterError

    try:
        return DagsterInstance.get()
    except DagsterError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"the Dagster instance at DAGSTER_HOME={home} cannot be opened "
                         f"({first}): fix {home / 'dagster.yaml'}") from None


# ---------------------------------------------------------------- running


def run_ingest(args: argparse.Namespace) -> int:
    config = ingest_run_config(args)
    home = dagster_home()
    check_local_manifest(args.manifest)
    try:
        check_study_exists(args.study, config)
    except EnvironmentProblem as error:
        print(f"gwo: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    # Dagster is imported only now: `gwo --help` and usage errors stay fast.
    from dagster import execute_job
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.errors import DagsterError

    from gwo_assets.partitions import PARTITION_TAG, register_study
    from gwo_assets.resources.dataservice_client import public_url

    ingest = config["resources"]["ingest"]["config"]
    mode = "dry run (writes nothing; add --write to load)" if ingest["dry_run"] else "REAL RUN"
    url = config["resources"].get("dataservice", {}).get("config", {}).get("url") \
        or os.environ.get(URL_ENV, "")
    print(f"gwo: ingest_gwo {mode} for {args.study}: manifest {ingest['manifest']}, DataService "
          f"{public_url(url)}, instance {home}", file=sys.stderr, flush=True)
    job = ReconstructableRepository.for_module(
        "gwo_assets", "defs", working_directory=os.getcwd()).get_reconstructable_job("ingest_gwo")
    with open_instance(home) as instance:
        register_study(instance, args.study)
        skipped: list[str] = []
        try:
            with quiet_expected_failures(skipped):
                result = execute_job(job, instance, run_config=config,
                                     tags={PARTITION_TAG: args.study})
        except DagsterError as error:  # refused config: nothing ran
            print(f"gwo: the run was refused: {error}", file=sys.stderr)
            return EXIT_FAILED
        if skipped:
            print(f"gwo: {len(skipped)} step(s) not executed because a step they depend on "
                  "failed or did not run", file=sys.stderr)
        return _finish(instance, result.run_id, result.success,
                       Path(ingest.get("report_dir", "reports")), args)


def run_remove_partition(args: argparse.Namespace) -> int:
    """Delete a study's partition key (a mistyped study a run registered)."""
    home = dagster_home()
    from gwo_assets.partitions import STUDY_PARTITIONS, remove_study

    with open_instance(home) as instance:
        removed = remove_study(instance, args.study)
    if removed:
        print(f"Removed partition {args.study} of {STUDY_PARTITIONS.name} from the instance at "
              f"{home}; its runs and their logs are kept (delete those under Runs in the UI).")
    else:
        print(f"The instance at {home} has no partition {args.study} of "
              f"{STUDY_PARTITIONS.name}: nothing to remove.")
    return EXIT_OK


# ---------------------------------------------------------------- what a failed run printed

_NOT_EXECUTING = re.compile(r"^Dependencies for step \S+ .*Not executing\.\s*$", re.S)
# Failures a user fixes by changing an input or a setting: their message says it all, the
# stack trace only hides it. Anything else (a bug) keeps Dagster's stack trace.
EXPECTED_ERRORS = frozenset({"Failure", "DagsterAssetCheckFailedError"})


def _expected_error(error: Any) -> Any:
    """The expected failure in ``error``'s chain (the error itself or its cause), or None."""
    while error is not None:
        if getattr(error, "cls_name", None) in EXPECTED_ERRORS:
            return error
        error = getattr(error, "cause", None)
    return None


def _quiet(record: logging.LogRecord) -> bool:
    """A filter on the run's console logger: drop the "Dependencies for step ... Not executing"
    lines (counted instead), print an expected failure as its one sentence, no stack trace."""
    meta = getattr(record, "dagster_meta", None)
    if not isinstance(meta, dict):
        return True
    event = meta.get("dagster_event")
    if event is None:
        if _NOT_EXECUTING.match(str(meta.get("orig_message") or "")):
            _SKIPPED.append(str(meta.get("step_key") or ""))
            return False
        return True
    expected = _expected_error(getattr(event.event_specific_data, "error", None))
    if expected is not None:
        head = str(record.msg).split("\n\n", 1)[0]
        # the run's failure repeats its step's: its first line ("Steps failed: [...]") is enough
        record.msg = head if event.is_run_failure else f"{head}\n{expected.message.strip()}"
        record.args = ()
    return True


_SKIPPED: list[str] = []


class _QuietLogger(logging.Logger):
    """The class Dagster's console logger is made of while ``gwo ingest`` runs its job."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.addFilter(_quiet)


@contextlib.contextmanager
def quiet_expected_failures(skipped: list[str]):
    """While the job runs in this process: Dagster's console logger (created through
    ``logging.getLoggerClass()``) filters its records with ``_quiet``; the steps it did not
    run are appended to ``skipped``."""
    previous = logging.getLoggerClass()
    logging.setLoggerClass(_QuietLogger)
    _SKIPPED.clear()
    try:
        yield
    finally:
        logging.setLoggerClass(previous)
        skipped.extend(_SKIPPED)
        _SKIPPED.clear()


def first_blocking_problem(report: dict[str, Any]) -> str | None:
    """The first problem that stopped (or would stop) the load, as one sentence: the row,
    column, value, expected value and fix of the first blocking check's first error."""
    for blocking in report.get("blocking_problems") or []:
        for group in report.get("problems") or []:
            for problem in group.get("problems") or []:
                if problem.get("dagster_check") == blocking.get("check") and \
                        problem.get("severity", "error") == "error":
                    total = sum(b.get("errors", 0) for b in report["blocking_problems"])
                    more = f"; {total - 1} more in the report" if total > 1 else ""
                    return f"{_problem_sentence(problem)} (check {blocking['check']}{more})"
    return None


def _first_step_error(report: dict[str, Any]) -> str | None:
    for error in report.get("errors") or []:
        message = str(error.get("message") or "").strip()
        if message:
            return f"{_strip_class(message)} (step {error.get('step')})"
    return None


def _problem_sentence(problem: dict[str, Any]) -> str:
    where = ", ".join(part for part in (
        f"row {problem['row']}" if problem.get("row") not in (None, "") else "",
        f"column '{problem['column']}'" if problem.get("column") else "") if part)
    sentence = f"{where}: {problem.get('value')!r}" if where else repr(problem.get("value"))
    if problem.get("expected"):
        sentence += f" - expected {problem['expected']}"
    if problem.get("fix"):
        sentence += f"; {problem['fix']}"
    return sentence


def _strip_class(message: str) -> str:
    """One line; an expected failure without its class (``dagster._core.definitions.events.
    Failure: text`` -> ``text``); any other error keeps its class (``RuntimeError: ...``)."""
    line = " ".join(message.split())
    return re.sub(r"^dagster\._core\.\S+\.(Failure|DagsterAssetCheckFailedError): ", "", line)


def _root_cause(error: Any) -> Any:
    """The innermost error of Dagster's wrappers (``Error occurred while executing op``)."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    return error


def _first_failure_in_log(instance: Any, run_id: str) -> str | None:
    """The first failure's sentence from the run's event log (a run that wrote no report)."""
    from dagster import DagsterEventType

    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.event_type not in (
                DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE,
                DagsterEventType.RESOURCE_INIT_FAILURE):
            continue
        error = getattr(event.event_specific_data, "error", None)
        chosen = _expected_error(error) or _root_cause(error)
        if chosen is not None:
            return f"{_strip_class(chosen.message.strip())} (step {event.step_key or 'run'})"
        if event.message:
            return event.message
    return None


def _finish(instance: Any, run_id: str, success: bool, report_dir: Path,
            args: argparse.Namespace) -> int:
    """The summary line, the run, the cause of a failure and the report's path on stdout;
    the exit code."""
    from gwo_assets.assets.report import summary_line

    report_path = report_dir / run_id / "report.json"
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        report = None
    if report is None:
        print(f"Run {run_id} FAILED before writing its report.")
        cause = _first_failure_in_log(instance, run_id)
        print(f"Cause: {cause or 'see the log above'}")
        return EXIT_FAILED
    print(summary_line(report))
    print(f"Run {run_id}: in the UI under Runs, or the asset catalog's partition {args.study}.")
    print(f"Report JSON: {report_path}")
    plan = report.get("plan") or {}
    if plan.get("plan_id"):
        print(f"Plan: {plan['plan_id']} (manifest sha256 {str(plan.get('manifest_sha256'))[:12]}..., "
              f"{plan.get('writes', '?')} writes)")
    if plan.get("approved_plan") and not plan.get("matches_approved"):
        print(f"Not the approved plan {plan['approved_plan']}: nothing written. What changed:")
        for difference in plan.get("differences", [])[:10]:
            print(f"  {difference['source']}: {difference['message']}")
    ok = success and report.get("status") == "success"
    if not ok:
        cause = (first_blocking_problem(report) or _first_failure_in_log(instance, run_id)
                 or _first_step_error(report))
        print(f"Cause: {cause or 'see the log above'}")
    print(f"Report: {report_path.with_name('report.md')}")
    if ok and report.get("dry_run"):
        plan_option = f" --plan {plan['plan_id']}" if plan.get("plan_id") else ""
        print(f"To load it: gwo ingest {args.study} {args.manifest} --write{plan_option}"
              + "".join(f" {flag} {value}" for flag, value in (
                  ("--report-dir", args.report_dir), ("--dataservice-url", args.dataservice_url),
                  ("--s3-endpoint-url", args.s3_endpoint_url), ("--config", args.config))
                  if value))
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

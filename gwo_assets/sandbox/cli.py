"""``python -m gwo_assets.sandbox up``: serve a sandbox stack until SIGINT/SIGTERM.

stdout carries exactly one JSON line (the stack's coordinates) once the study
is ready, so a caller can read one line and go; logs go to stderr. With a study,
a ready ingest_gwo dry-run config is written first (``--run-config``, default
``<workdir>/run.yaml``) and how to launch it is printed on stderr.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import re
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gwo_assets.errors import GwoError
from gwo_assets.sandbox.generator import MANIFEST_FORMATS
from gwo_assets.sandbox.s3 import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from gwo_assets.sandbox.stack import SandboxStack

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
log = logging.getLogger("gwo_assets.sandbox")


class UsageError(Exception):
    """A setting the user must change (busy port, unwritable workdir): exit 2."""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _up(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except GwoError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gwo_assets.sandbox",
                                     description="Local DataService + S3 sandbox for gwo_assets.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start both servers, generate a study, serve until stopped")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--dataservice-port", type=_non_negative(int), default=0, help="0 = a free port")
    up.add_argument("--s3-port", type=_non_negative(int), default=0, help="0 = a free port")
    up.add_argument("--specimens", type=_non_negative(int), default=50, help="0 = empty servers")
    up.add_argument("--seed", type=int, default=7)
    up.add_argument("--workdir", type=Path, default=None,
                    help="where the manifest goes (default: a temporary directory)")
    up.add_argument("--bucket", type=_bucket_name, default="gwo-sandbox")
    up.add_argument("--manifest-format", choices=MANIFEST_FORMATS, default="tsv")
    up.add_argument("--fault-rate", type=_rate, default=0.0,
                    help="share of DataService requests answered 500/503")
    up.add_argument("--lost-response-rate", type=_rate, default=0.0,
                    help="share of DataService writes applied but never answered")
    up.add_argument("--latency-ms", type=_non_negative(int), default=0)
    up.add_argument("--late-commit-rate", type=_rate, default=0.0,
                    help="share of POST/PATCH answered 504 at once and committed later")
    up.add_argument("--late-commit-seconds", type=_non_negative(float), default=4.0)
    up.add_argument("--filler-files", type=_non_negative(int), default=0,
                    help="other studies' genomic files the DataService holds before the study "
                         "(e.g. 1000000, the real service's size: external_id look-ups scan them)")
    up.add_argument("--filler-cache", type=Path, default=None,
                    help="where filled databases are kept between runs (default: "
                         "~/.cache/gwo_assets/sandbox-filler; a 1 M-file build takes minutes)")
    up.add_argument("--run-config", type=Path, default=None,
                    help="where to write a ready ingest_gwo dry-run config for this sandbox "
                         "(default: <workdir>/run.yaml; none without a study)")
    return parser


def _up(args: argparse.Namespace) -> int:
    for name, port in (("--dataservice-port", args.dataservice_port), ("--s3-port", args.s3_port)):
        _check_port_free(args.host, port, name)
    if args.workdir is not None:
        _check_writable(args.workdir)
    if args.run_config is not None:
        _check_writable(args.run_config.parent)
    # Imported late: the servers pull in flask/moto, not needed for --help or usage errors.
    from gwo_assets.sandbox.dataservice import FaultConfig
    from gwo_assets.sandbox.stack import SandboxStack

    faults = None
    if args.fault_rate or args.lost_response_rate or args.latency_ms or args.late_commit_rate:
        faults = FaultConfig(error_rate=args.fault_rate, lost_response_rate=args.lost_response_rate,
                             latency_ms=args.latency_ms, seed=args.seed,
                             late_commit_rate=args.late_commit_rate,
                             late_commit_seconds=args.late_commit_seconds)
    stack = SandboxStack(host=args.host, dataservice_port=args.dataservice_port, s3_port=args.s3_port,
                         specimens=args.specimens, seed=args.seed, workdir=args.workdir, faults=faults,
                         bucket=args.bucket, manifest_format=args.manifest_format,
                         filler_files=args.filler_files, filler_cache=_filler_cache(args))
    _stop_on_signals()
    try:
        stack.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError(f"a port on {args.host} is already in use ({error.strerror})") from None
        raise
    except KeyboardInterrupt:
        return EXIT_OK
    try:
        run_config = _write_run_config(stack, args.run_config)
        print(json.dumps({**_ready_line(stack), "run_config": run_config and str(run_config)}),
              flush=True)
        if run_config is not None:
            from gwo_assets.sandbox.run_config import launch_instructions

            print(launch_instructions(run_config, stack.info), file=sys.stderr, flush=True)
        log.info("sandbox ready; stop with Ctrl-C or SIGTERM")
        while True:
            signal.pause()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        stack.stop()
    return EXIT_OK


def _filler_cache(args: argparse.Namespace) -> Path | None:
    if not args.filler_files:
        return None
    from gwo_assets.sandbox.dataservice.filler import DEFAULT_CACHE_DIR

    cache = args.filler_cache or DEFAULT_CACHE_DIR
    _check_writable(cache)
    return cache


def _ready_line(stack: SandboxStack) -> dict[str, Any]:
    return {
        **stack.info,
        "aws_access_key_id": DUMMY_ACCESS_KEY_ID,
        "aws_secret_access_key": DUMMY_SECRET_ACCESS_KEY,
        "counts": stack.study.counts if stack.study else {},
    }


def _write_run_config(stack: SandboxStack, path: Path | None) -> Path | None:
    if stack.study is None:
        return None
    from gwo_assets.sandbox.run_config import write_run_config

    return write_run_config((path or Path(stack.info["workdir"]) / "run.yaml").resolve(),
                            stack.info)


def _stop_on_signals() -> None:
    """SIGTERM behaves like Ctrl-C; a second signal during shutdown is ignored."""

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _check_port_free(host: str, port: int, option: str) -> None:
    if port == 0:
        return
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        reason = "is already in use" if error.errno == errno.EADDRINUSE else f"cannot be bound ({error.strerror})"
        raise UsageError(f"{option} {port} on {host} {reason}; choose another port or 0 for a free one") from None


def _check_writable(workdir: Path) -> None:
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=workdir):
            pass
    except OSError as error:
        raise UsageError(f"--workdir {workdir} is not writable ({error.strerror or error})") from None


def _bucket_name(text: str) -> str:
    if not BUCKET_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an S3 bucket name (3-63 of a-z 0-9 . -)")
    return text


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate between 0 and 1")
    return value


def _non_negative(kind: type) -> Any:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text} must be >= 0")
        return value

    return parse

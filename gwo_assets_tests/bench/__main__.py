"""``make bench``: ingest_gwo on the sandbox against a write floor and a naive loader.

    python -m gwo_assets_tests.bench                  # 1,000 and 10,000 files, 100k-row manifest
    python -m gwo_assets_tests.bench --sizes 1000     # quicker
    python -m gwo_assets_tests.bench --quick          # 200 files, 10k-row manifest (smoke test)
    python -m gwo_assets_tests.bench --sizes 1000 --dataservice-files 0,1000000 --manifest-rows 0
                                                      # empty DataService, then one of 1 M files

Prints one block per study size and a summary; ``--json FILE`` keeps the raw
figures. Exits 1 when a run fails, and with ``--strict`` also when a target is
missed (timings depend on the machine, so missing one is not an error by default).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from gwo_assets.resources.dataservice import DataServiceResource
from gwo_assets.sandbox.dataservice import filler
from gwo_assets_tests.bench import table
from gwo_assets_tests.bench.manifest_scale import measure_in_subprocess
from gwo_assets_tests.bench.pipeline_run import warm_up
from gwo_assets_tests.bench.runner import Options, SizeResult, run_size
from gwo_assets_tests.bench.targets import manifest_verdicts

DEFAULT_SIZES = (1_000, 10_000)
MANIFEST_ROWS = 100_000
QUICK_SIZE, QUICK_MANIFEST_ROWS, QUICK_FLOOR_SECONDS = 200, 10_000, 1.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gwo_assets_tests.bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                        help="harmonized files per study (default: 1000 10000)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SIZE} files and a {QUICK_MANIFEST_ROWS:,}-row manifest")
    parser.add_argument("--manifest-rows", type=int, default=MANIFEST_ROWS,
                        help="rows of the parse/check manifest (0 skips it)")
    parser.add_argument("--floor-seconds", type=float, default=Options.floor_seconds,
                        help="seconds per client count of the write-floor loop")
    parser.add_argument("--naive-sample", type=int, default=Options.naive_sample,
                        help="files the naive loader runs on above --naive-full-up-to")
    parser.add_argument("--naive-full-up-to", type=int, default=Options.naive_full_up_to,
                        help="largest study the naive loader loads whole")
    parser.add_argument("--latency-ms", type=int, default=Options.latency_ms,
                        help="sandbox DataService latency per request, to emulate a remote "
                             "service (default 0: loopback)")
    parser.add_argument("--max-concurrency", type=int, default=None,
                        help="the pipeline's dataservice max_concurrency (default: the "
                             "resource's default)")
    parser.add_argument("--indexd", action="store_true",
                        help="configure the pipeline's indexd resource (the sandbox serves "
                             "indexd's ?url=): new files are proved unregistered without a scan")
    parser.add_argument("--dataservice-files", type=_sizes, default=[0],
                        help="DataService size axis: other studies' genomic files the sandbox "
                             "holds, comma-separated (default 0; e.g. 0,1000000: the real "
                             "service's size, where every external_id look-up scans them)")
    parser.add_argument("--filler-cache", type=Path, default=None,
                        help="where filled DataService databases are kept between runs "
                             "(default ~/.cache/gwo_assets/sandbox-filler)")
    parser.add_argument("--naive-sample-filled", type=int, default=Options.naive_sample_filled,
                        help="files the naive loader runs on when the DataService holds filler")
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.manifest_rows = [QUICK_SIZE], QUICK_MANIFEST_ROWS
        args.floor_seconds = min(args.floor_seconds, QUICK_FLOOR_SECONDS)
    return args


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of counts") from None
    if not sizes or any(size < 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more counts >= 0")
    return sizes


def use_sandbox_credentials() -> None:
    """Dummy AWS credentials for moto; a user's AWS profile must not leak into the runs."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")


def environment() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_sandbox_credentials()
    env = environment()
    concurrency = (args.max_concurrency
                   or DataServiceResource.model_fields["max_concurrency"].default)
    print(f"gwo_assets benchmark: sizes {args.sizes}, DataService holding "
          f"{', '.join(f'{n:,}' for n in args.dataservice_files)} other files, "
          f"manifest {args.manifest_rows:,} rows, "
          f"pipeline max_concurrency {concurrency}, DataService latency {args.latency_ms} ms; "
          f"{env['cpus']} CPUs, load average {env['load_average'][0]:.1f}, {env['platform']}",
          flush=True)
    manifest = measure_in_subprocess(args.manifest_rows) if args.manifest_rows else None
    env["one_time_seconds"] = warm_up()
    print(f"one-time per process (definitions, GX import + first context): "
          f"{env['one_time_seconds']:.1f} s, not counted in the runs below", flush=True)
    cache = str(args.filler_cache or filler.DEFAULT_CACHE_DIR)
    results: list[SizeResult] = []
    with tempfile.TemporaryDirectory(prefix="gwo-bench-") as workdir:
        for dataservice_files in args.dataservice_files:
            options = Options(seed=args.seed, floor_seconds=args.floor_seconds,
                              naive_full_up_to=args.naive_full_up_to,
                              naive_sample=args.naive_sample, latency_ms=args.latency_ms,
                              max_concurrency=args.max_concurrency, indexd=args.indexd,
                              dataservice_files=dataservice_files, filler_cache=cache,
                              naive_sample_filled=args.naive_sample_filled)
            for size in args.sizes:
                log = lambda line: print(line, flush=True)  # noqa: E731
                folder = Path(workdir) / f"{size}-{dataservice_files}"
                results.append(run_size(size, options, folder, log))
                print("\n" + table.study_block(results[-1]) + "\n", flush=True)
    verdicts = [v for r in results for v in r.verdicts]
    if manifest:
        print(table.manifest_block(manifest) + "\n")
        verdicts += manifest_verdicts(manifest)
    if results:
        print("== Summary\n\n" + table.summary_table(results) + "\n")
        print(table.phase_summary(results) + "\n")
    print(table.verdict_table(verdicts))
    if args.json:
        write_json(args.json, env, results, manifest)
    return 1 if args.strict and any(v.met is False for v in verdicts) else 0


def write_json(path: Path, env: dict, results: list[SizeResult], manifest: dict | None) -> None:
    payload = {"environment": env, "sizes": [dataclasses.asdict(r) for r in results],
               "manifest": manifest}
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())

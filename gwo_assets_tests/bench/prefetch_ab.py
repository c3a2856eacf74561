"""A/B of the S3 scrape started with the manifest (on) against the scrape in its own step
(off), run by run on the same study (issue 20 item 3).

``python -m gwo_assets_tests.bench.prefetch_ab --files 1000 --trials 3 --latency-ms 20
--s3-latency-ms 20``: one moto S3 and 2 x ``trials`` sandbox DataServices (child processes,
as the bench's), the same study loaded into each; per trial one fresh load with the scrape
on and one with it off, in alternating order, each on a DataService of its own; then
``trials`` reruns of each, alternating, on one of them. A warm-up dry run pays the one-time
imports first. "Off" replaces ``S3Resource.prefetch_metadata`` with a no-op, so the S3 step
scrapes itself as before. Prints each run and the medians.
"""

import argparse
import os
import statistics
from pathlib import Path
from tempfile import mkdtemp

from gwo_assets.resources.s3 import S3Resource
from gwo_assets_tests.bench.host import DataServiceProcess, ServerProcess
from gwo_assets_tests.bench.pipeline_run import run_pipeline
from gwo_assets_tests.bench.study import build_study, plan_for_files

_PREFETCH = S3Resource.prefetch_metadata


def _scrape_started_with_the_manifest(on: bool) -> None:
    S3Resource.prefetch_metadata = _PREFETCH if on else (lambda self, filepaths: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=0, help="per DataService answer")
    parser.add_argument("--s3-latency-ms", type=int, default=0, help="per S3 answer")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    work = Path(mkdtemp(prefix="gwo-prefetch-ab-"))
    plan = plan_for_files(args.files, seed=1)
    seconds: dict[str, list[float]] = {}

    def run(label: str, on: bool, dataservice: DataServiceProcess, s3_url: str) -> None:
        _scrape_started_with_the_manifest(on)
        measured, _ = run_pipeline(label, dataservice, s3_url, plan.study_id, study.manifest,
                                   work / "reports")
        assert measured.success, f"{label} failed"
        key = f"{label} {'on' if on else 'off'}"
        seconds.setdefault(key, []).append(measured.seconds)
        print(f"{key}: {measured.seconds:.2f} s (S3 step "
              f"{measured.steps.get('harmonized_file_s3_metadata', 0):.2f} s, load average "
              f"{os.getloadavg()[0]:.1f})", flush=True)

    with ServerProcess("s3", latency_ms=args.s3_latency_ms) as s3:
        servers = [DataServiceProcess() for _ in range(2 * args.trials + 1)]
        for server in servers:
            server.__enter__()
        try:
            study = build_study(plan, [server.url for server in servers], s3.url, work)
            for server in servers:
                server.set_latency_ms(args.latency_ms)
            print(f"{len(plan.harmonized):,} files; DataService latency {args.latency_ms} ms, "
                  f"S3 latency {args.s3_latency_ms} ms", flush=True)
            run("warm-up", True, servers[-1], s3.url)
            for trial in range(args.trials):
                order = (True, False) if trial % 2 == 0 else (False, True)
                for slot, on in enumerate(order):
                    run("fresh", on, servers[2 * trial + slot], s3.url)
            for trial in range(args.trials):
                for on in ((True, False) if trial % 2 == 0 else (False, True)):
                    run("rerun", on, servers[0], s3.url)
        finally:
            for server in servers:
                server.__exit__(None, None, None)
    for key in ("fresh on", "fresh off", "rerun on", "rerun off"):
        print(f"{key}: median {statistics.median(seconds[key]):.2f} s "
              f"{[round(value, 2) for value in seconds[key]]}")


if __name__ == "__main__":
    main()

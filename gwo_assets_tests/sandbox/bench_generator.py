"""Benchmark: time a generated study end to end (not collected by pytest).

    .venv/bin/python -m gwo_assets_tests.sandbox.bench_generator --specimens 5000

Prints one JSON line: the wall time of the whole stack start, of the
generation alone, and the study's counts.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from gwo_assets.sandbox.generator import generate_study
from gwo_assets.sandbox.generator.plan import plan_study
from gwo_assets.sandbox.stack import SandboxStack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specimens", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    plan_study(specimens=args.specimens, seed=args.seed, bucket="gwo-sandbox")
    plan_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as workdir, SandboxStack(specimens=0) as stack:
        started = time.perf_counter()
        study = generate_study(stack.dataservice.url, stack.s3.client(), stack.bucket,
                               specimens=args.specimens, seed=args.seed, workdir=Path(workdir))
        generate_seconds = time.perf_counter() - started
        requests_made = sum(stack.dataservice.request_counts().values())

    print(json.dumps({
        "specimens": args.specimens,
        "seed": args.seed,
        "plan_seconds": round(plan_seconds, 2),
        "generate_seconds": round(generate_seconds, 2),
        "dataservice_requests": requests_made,
        "dataservice_posts_per_second": round(requests_made / generate_seconds, 1),
        "s3_objects": study.counts["harmonized_files"],
        "counts": study.counts,
    }))


if __name__ == "__main__":
    main()

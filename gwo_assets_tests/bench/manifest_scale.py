"""A large manifest through parse + every manifest check, in a process of its own.

Run by the benchmark as ``python -m gwo_assets_tests.bench.manifest_scale ROWS``;
prints one JSON line. A separate process keeps its peak RSS apart from the
study runs. Timed: ``load_gwo_manifest`` (read, normalize, row rules) and the
great-expectations manifest suite, the two checks on ``gwo_manifest``. Imports
(dagster, pandas, GX) happen before the clock starts and are reported apart.
A second, untimed pass under tracemalloc gives each phase's peak traced heap.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from gwo_assets_tests.bench.pipeline_run import current_rss_bytes, maxrss_mib


def measure(rows: int) -> dict[str, Any]:
    """Timings (s) and memory (MiB) of parse + checks on a ``rows``-row TSV manifest."""
    started = time.perf_counter()
    importlib.import_module("great_expectations")  # its import cost is reported apart

    from gwo_assets.assets.expectations import manifest_expectations, run_suite
    from gwo_assets.assets.manifest import load_gwo_manifest
    from gwo_assets.resources.s3 import S3Resource
    from gwo_assets_tests.manifests.large import large_manifest_tsv
    import_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.tsv"
        path.write_bytes(large_manifest_tsv(rows))
        baseline_mib = current_rss_bytes() / 2**20
        timings, outcome = _timed_pass(path, load_gwo_manifest, S3Resource(), run_suite,
                                       manifest_expectations)
        peak_mib = maxrss_mib()
        traced = _traced_pass(path, load_gwo_manifest, S3Resource(), run_suite,
                              manifest_expectations)
    return {"rows": rows, "import_seconds": round(import_seconds, 2), **timings, **outcome,
            "baseline_rss_mib": round(baseline_mib, 1), "peak_rss_mib": round(peak_mib, 1),
            **traced}


def _timed_pass(path: Path, load, s3, run_suite, expectations) -> tuple[dict, dict]:
    started = time.perf_counter()
    manifest = load(str(path), s3)
    parsed = time.perf_counter()
    gx_issues = run_suite("gwo_manifest", manifest.rows, expectations, "row")
    checked = time.perf_counter()
    timings = {"parse_validate_seconds": round(parsed - started, 2),
               "gx_suite_seconds": round(checked - parsed, 2),
               "total_seconds": round(checked - started, 2)}
    outcome = {"manifest_rows": len(manifest.rows), "row_issues": len(manifest.issues),
               "gx_issues": len(gx_issues)}
    return timings, outcome


def _traced_pass(path: Path, load, s3, run_suite, expectations) -> dict:
    tracemalloc.start()
    manifest = load(str(path), s3)
    parse_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    run_suite("gwo_manifest", manifest.rows, expectations, "row")
    gx_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"traced_parse_peak_mib": round(parse_peak / 2**20, 1),
            "traced_gx_peak_mib": round(gx_peak / 2**20, 1)}


def measure_in_subprocess(rows: int) -> dict[str, Any]:
    """``measure(rows)`` in a fresh interpreter, so its RSS is its own."""
    completed = subprocess.run([sys.executable, "-m", __name__, str(rows)], capture_output=True,
                               text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"manifest scale run failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)))

"""A benchmark study: the generator's plan, loaded into one or more DataServices, uploaded once.

Composes the sandbox generator (plan, DataService load, S3 upload, manifest)
instead of ``generate_study``, so the same study can be loaded into several
DataServices (the pipeline's and the naive loader's copy) while its objects
are uploaded to S3 only once, all three at the same time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from gwo_assets.sandbox.generator.dataservice_load import load_plan
from gwo_assets.sandbox.generator.manifest import write_manifest
from gwo_assets.sandbox.generator.model import StudyPlan
from gwo_assets.sandbox.generator.plan import plan_study
from gwo_assets.sandbox.generator.s3_upload import upload_outputs
from gwo_assets.sandbox.s3 import make_client

BUCKET = "gwo-bench"
UPLOAD_WORKERS = 16
LOAD_WORKERS = 8


@dataclass(frozen=True)
class BenchStudy:
    """A planned study and where its manifest is; ``seconds`` it took to build."""

    plan: StudyPlan
    manifest: Path
    manifest_rows: int
    seconds: float

    @property
    def files(self) -> int:
        return len(self.plan.harmonized)


def plan_for_files(files: int, seed: int, bucket: str = BUCKET) -> StudyPlan:
    """A plan with about ``files`` harmonized files (the generator makes ~3 per specimen)."""
    probe_specimens = max(1, files // 3)
    probe = plan_study(specimens=probe_specimens, seed=seed, bucket=bucket)
    per_specimen = len(probe.harmonized) / probe_specimens
    specimens = max(1, round(files / per_specimen))
    return plan_study(specimens=specimens, seed=seed, bucket=bucket)


def build_study(plan: StudyPlan, dataservice_urls: list[str], s3_endpoint_url: str,
                workdir: Path) -> BenchStudy:
    """Load ``plan`` into every DataService and upload its objects, concurrently; write the manifest."""
    started = time.perf_counter()
    s3_client = make_client(s3_endpoint_url, max_pool_connections=UPLOAD_WORKERS)
    with ThreadPoolExecutor(1 + len(dataservice_urls), "bench-study") as pool:
        jobs = [pool.submit(upload_outputs, s3_client, plan.bucket, plan.harmonized,
                            UPLOAD_WORKERS)]
        jobs += [pool.submit(load_plan, plan, url, LOAD_WORKERS) for url in dataservice_urls]
        for job in jobs:
            job.result()
    workdir.mkdir(parents=True, exist_ok=True)
    manifest = workdir / f"gwo-manifest-{plan.study_id}.tsv"
    rows = write_manifest(plan, manifest, "tsv")
    return BenchStudy(plan, manifest, rows, time.perf_counter() - started)


STUDY_TABLES = ("/genomic-files", "/sequencing-experiments",
                "/sequencing-experiment-genomic-files", "/biospecimen-genomic-files")


def study_table_rows(dataservice_url: str, study_id: str) -> dict[str, int]:
    """Rows of the four study tables the pipeline reads in bulk (T of the request target)."""
    counts = {}
    for endpoint in STUDY_TABLES:
        response = requests.get(f"{dataservice_url}{endpoint}",
                                params={"study_id": study_id, "limit": 1}, timeout=30)
        response.raise_for_status()
        counts[endpoint] = int(response.json()["total"])
    return counts

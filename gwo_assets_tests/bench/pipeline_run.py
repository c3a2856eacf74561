"""One ingest_gwo run, measured: per-step wall time, requests, writes, memory, CPU.

The benchmark runs each pipeline run in a spawned process of its own
(``run_pipeline_in_own_process``), as Dagster launches every run, so a run's
memory is its own; ``run_pipeline`` runs it in the caller's process.

Step times come from the Dagster event log (STEP_START to STEP_SUCCESS or
STEP_FAILURE per step key). Asset outputs go through the job's filesystem IO
manager (pickled to the ephemeral instance's storage), as under the CLI.
DataService requests come from the sandbox's own counters (what the server
received, retries included); S3 requests from the ``s3_requests`` metadata of
``harmonized_file_s3_metadata``; memory from a sampler of the running
process's resident set while the run is in flight (imports included).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import DagsterEventType, DagsterInstance, ExecuteInProcessResult

from gwo_assets.definitions import defs
from gwo_assets_tests.bench.host import DataServiceProcess
from gwo_assets_tests.support import execute_ingest, run_config

QUIET_LOGGERS = {"console": {"config": {"log_level": "WARNING"}}}
STEP_END = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
LOAD_ASSETS = ("genomic_files", "biospecimen_genomic_files", "sequencing_experiment_genomic_files")


@dataclass
class PipelineRun:
    """What one run cost; ``steps`` maps step key -> seconds, in execution order."""

    label: str
    success: bool
    seconds: float
    steps: dict[str, float]
    requests: dict[str, int]
    writes: int
    s3_requests: dict[str, int]
    external_id_lookups: int
    planned_writes: dict[str, int]
    peak_rss_mib: float
    maxrss_mib: float
    client_cpu_seconds: float
    server_cpu_seconds: float
    step_requests: dict[str, int] = field(default_factory=dict)  # from each step's metadata

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class RssSampler:
    """Peak resident set of this process while active (Linux /proc; 0 elsewhere)."""

    def __init__(self, every_seconds: float = 0.05) -> None:
        self.every = every_seconds
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, current_rss_bytes())


def current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def maxrss_mib() -> float:
    """This process's lifetime peak RSS (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pipeline(label: str, dataservice: DataServiceProcess, s3_endpoint_url: str,
                 study_id: str, manifest: Path, report_dir: Path,
                 max_concurrency: int | None = None, with_indexd: bool = False,
                 ) -> tuple[PipelineRun, ExecuteInProcessResult]:
    """Run ingest_gwo (dry_run=False) once on the sandbox, in this process, and measure it."""
    config = _config(dataservice.url, s3_endpoint_url, study_id, manifest, report_dir,
                     max_concurrency, with_indexd)
    dataservice.reset_counts()
    server_cpu = dataservice.cpu_seconds()
    measured, result = _execute_measured(config)
    return _pipeline_run(label, dataservice, server_cpu, measured), result


def run_pipeline_in_own_process(label: str, dataservice: DataServiceProcess,
                                s3_endpoint_url: str, study_id: str, manifest: Path,
                                report_dir: Path, max_concurrency: int | None = None,
                                with_indexd: bool = False) -> tuple[PipelineRun, list[dict]]:
    """``run_pipeline`` in a spawned child, as Dagster runs each run in a process of its own
    (``dagster job execute``, the run launcher): its peak RSS is that run's alone, not the
    leftovers of the runs before it in a long-lived benchmark process. Also returns the
    genomic-file bodies the run planned to create (the write floor replays them)."""
    config = _config(dataservice.url, s3_endpoint_url, study_id, manifest, report_dir,
                     max_concurrency, with_indexd)
    dataservice.reset_counts()
    server_cpu = dataservice.cpu_seconds()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
        measured, payloads = child.submit(_measure_in_child, config).result()
    return _pipeline_run(label, dataservice, server_cpu, measured), payloads


def _config(dataservice_url: str, s3_endpoint_url: str, study_id: str, manifest: Path,
            report_dir: Path, max_concurrency: int | None, with_indexd: bool) -> dict:
    info = {"study_id": study_id, "manifest": str(manifest),
            "dataservice_url": dataservice_url, "s3_endpoint_url": s3_endpoint_url}
    settings = {"max_concurrency": max_concurrency} if max_concurrency else None
    return {**run_config(info, dry_run=False, report_dir=report_dir, dataservice=settings,
                         with_indexd=with_indexd),
            "loggers": QUIET_LOGGERS}


def warm_up() -> float:
    """Pay the one-time costs of a process (job definitions, GX import and first context)
    before timing, so run times compare across runs and sessions."""
    from gwo_assets.assets.expectations import manifest_expectations, run_suite

    started = time.perf_counter()
    defs.resolve_job_def("ingest_gwo")
    frame = pd.DataFrame({"row": [2], "filepath": ["s3://bucket/a.cram"], "source_read": [None],
                          "biospecimen_id": ["BS_00000000"], "participant_id": ["PT_00000000"],
                          "data_type": ["Aligned Reads"], "workflow_type": ["Alignment"]})
    run_suite("warm_up", frame, manifest_expectations, "row")
    return time.perf_counter() - started


def _measure_in_child(config: dict) -> tuple[dict[str, Any], list[dict]]:
    warm_up()
    measured, result = _execute_measured(config)
    return measured, fresh_file_payloads(result) if result.success else []


def _execute_measured(config: dict) -> tuple[dict[str, Any], ExecuteInProcessResult]:
    """What this process measures of one run (the server's side is the caller's)."""
    instance = DagsterInstance.ephemeral()
    client_cpu = time.process_time()
    with RssSampler() as rss:
        started = time.perf_counter()
        result = execute_ingest(defs.resolve_job_def("ingest_gwo"), config, instance)
        seconds = time.perf_counter() - started
    return {
        "success": result.success, "seconds": seconds,
        "steps": step_seconds(instance, result.run_id),
        "s3_requests": _metadata(result, "harmonized_file_s3_metadata", "s3_requests", {}),
        "external_id_lookups": _metadata(result, "existing_harmonized_files",
                                         "external_id_lookups", 0),
        "planned_writes": {name: _metadata(result, name, "planned_create", 0)
                           + _metadata(result, name, "planned_update", 0) for name in LOAD_ASSETS},
        "peak_rss_mib": rss.peak_bytes / 2**20, "maxrss_mib": maxrss_mib(),
        "client_cpu_seconds": time.process_time() - client_cpu,
        "step_requests": step_requests(result),
    }, result


def _pipeline_run(label: str, dataservice: DataServiceProcess, server_cpu_before: float,
                  measured: dict[str, Any]) -> PipelineRun:
    stats = dataservice.stats()
    return PipelineRun(label=label, requests=stats["requests"], writes=stats["writes"],
                       server_cpu_seconds=dataservice.cpu_seconds() - server_cpu_before,
                       **measured)


def step_requests(result: ExecuteInProcessResult) -> dict[str, int]:
    """DataService requests per step key, from the ``dataservice_requests`` metadata each
    reading or writing step attaches (a client per step); steps without it are not listed."""
    counts: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        value = event.materialization.metadata.get("dataservice_requests")
        if value is not None and isinstance(value.value, dict):
            counts[event.step_key] = counts.get(event.step_key, 0) + sum(value.value.values())
    return counts


def step_seconds(instance: DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds from STEP_START to the step's end, per step key, in start order."""
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif event.event_type in STEP_END:
            ended[entry.step_key] = entry.timestamp
    return {key: ended[key] - start for key, start in sorted(started.items(), key=lambda kv: kv[1])
            if key in ended}


def _metadata(result: ExecuteInProcessResult, node: str, key: str, default: Any) -> Any:
    for materialization in result.asset_materializations_for_node(node):
        if key in materialization.metadata:
            return materialization.metadata[key].value
    return default


def fresh_file_payloads(result: ExecuteInProcessResult) -> list[dict]:
    """The genomic-file bodies the run planned to create (the write floor replays their shape)."""
    plan: pd.DataFrame = result.output_for_node("genomic_files_plan")
    return [payload for payload in plan.loc[plan["action"] == "create", "payload"]]

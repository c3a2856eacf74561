"""One study size end to end: build, pipeline fresh, write floor, pipeline rerun, naive loader.

The floor is measured right after the fresh load, on the same DataService, so
the two see the same machine load; the naive loader runs on a second copy of
the same study (same plan, same S3 objects) so it too starts fresh.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gwo_assets.sandbox.dataservice import filler
from gwo_assets_tests.bench.host import DataServiceProcess, ServerProcess
from gwo_assets_tests.bench.naive_loader import NaiveOutcome, run_naive
from gwo_assets_tests.bench.pipeline_run import PipelineRun, run_pipeline_in_own_process
from gwo_assets_tests.bench.study import (BenchStudy, build_study, plan_for_files,
                                          study_table_rows)
from gwo_assets_tests.bench.targets import Verdict, size_verdicts
from gwo_assets_tests.bench.write_floor import WriteFloor, measure_write_floor


@dataclass(frozen=True)
class Options:
    seed: int = 7
    floor_seconds: float = 5.0
    naive_full_up_to: int = 2_000
    naive_sample: int = 1_000
    latency_ms: int = 0  # added to every DataService answer after the study is built
    max_concurrency: int | None = None  # the dataservice resource's, when not its default
    indexd: bool = False  # the pipeline asks the sandbox's indexd before any external_id scan
    dataservice_files: int = 0  # other studies' genomic files in the DataService (filler)
    filler_cache: str | None = None  # where the filled template databases are kept
    naive_sample_filled: int = 20  # the naive loader's sample on a filled DataService


@dataclass
class StudyFacts:
    target_files: int
    files: int
    specimens: int
    manifest_rows: int
    table_rows: dict[str, int]  # before the fresh load
    rerun_table_rows: dict[str, int]  # before the rerun (the fresh load's rows added)
    build_seconds: float
    latency_ms: int
    dataservice_files: int = 0

    @property
    def total_table_rows(self) -> int:
        return sum(self.table_rows.values())

    @property
    def rerun_total_table_rows(self) -> int:
        return sum(self.rerun_table_rows.values())


@dataclass
class SizeResult:
    study: StudyFacts
    fresh: PipelineRun
    rerun: PipelineRun
    floor: WriteFloor
    naive: NaiveOutcome
    verdicts: list[Verdict]
    load_average: tuple[float, float]  # 1-minute load before and after


@dataclass(frozen=True)
class _Sandbox:
    """The servers of one size: moto, the pipeline's DataService and the naive loader's copy."""

    s3_url: str
    pipeline: DataServiceProcess
    naive: DataServiceProcess


def run_size(files: int, options: Options, workdir: Path,
             log: Callable[[str], None] = print) -> SizeResult:
    """Every measurement of one study size, on sandbox servers started for it."""
    load_before = os.getloadavg()[0]
    plan = plan_for_files(files, options.seed)
    tag = f"{files:,}" + (f" @ {options.dataservice_files:,}" if options.dataservice_files else "")
    log(f"[{tag}] plan: {len(plan.harmonized):,} files, {len(plan.biospecimens):,} specimens; "
        f"DataService holds {options.dataservice_files:,} other files")
    if options.dataservice_files and options.filler_cache:
        started = time.perf_counter()  # built here once, so the two servers only copy it
        filler.ensure_template(options.dataservice_files, Path(options.filler_cache))
        log(f"[{tag}] filler template ready in {time.perf_counter() - started:.0f} s")
    servers = {"filler_files": options.dataservice_files, "filler_cache": options.filler_cache}
    with ServerProcess("s3") as s3, DataServiceProcess(**servers) as pipeline_ds, \
            DataServiceProcess(**servers) as naive_ds:
        sandbox = _Sandbox(s3.url, pipeline_ds, naive_ds)
        study = build_study(plan, [pipeline_ds.url, naive_ds.url], s3.url, workdir)
        table_rows = study_table_rows(pipeline_ds.url, plan.study_id)
        for dataservice in (pipeline_ds, naive_ds):
            dataservice.set_latency_ms(options.latency_ms)
        log(f"[{tag}] study built in {study.seconds:.0f} s; running the pipeline (fresh)")
        fresh, floor = _fresh_load_and_floor(sandbox, plan.study_id, study, options, workdir)
        log(f"[{tag}] fresh load {fresh.seconds:.1f} s; floor measured; rerun")
        rerun_rows = study_table_rows(pipeline_ds.url, plan.study_id)
        rerun = _required(run_pipeline_in_own_process(
            "rerun", pipeline_ds, sandbox.s3_url, plan.study_id, study.manifest,
            workdir / "reports", max_concurrency=options.max_concurrency,
            with_indexd=options.indexd)[0])
        log(f"[{tag}] rerun {rerun.seconds:.1f} s; naive loader")
        naive = _naive_load(sandbox, study, options)
        log(f"[{tag}] naive loader {naive.measured.seconds:.0f} s on "
            f"{naive.measured.files:,} files")
    facts = StudyFacts(files, study.files, len(plan.biospecimens), study.manifest_rows,
                       table_rows, rerun_rows, study.seconds, options.latency_ms,
                       options.dataservice_files)
    verdicts = size_verdicts(facts.files, facts.total_table_rows, facts.rerun_total_table_rows,
                             fresh, rerun, floor, naive)
    return SizeResult(facts, fresh, rerun, floor, naive, verdicts,
                      (load_before, os.getloadavg()[0]))


def _fresh_load_and_floor(sandbox: _Sandbox, study_id: str, study: BenchStudy, options: Options,
                          workdir: Path) -> tuple[PipelineRun, WriteFloor]:
    """The fresh load, then the floor right away (same DataService, same machine load)."""
    fresh, payloads = run_pipeline_in_own_process(
        "fresh", sandbox.pipeline, sandbox.s3_url, study_id, study.manifest, workdir / "reports",
        max_concurrency=options.max_concurrency, with_indexd=options.indexd)
    _required(fresh)
    return fresh, measure_write_floor(sandbox.pipeline, payloads, options.floor_seconds)


def _naive_load(sandbox: _Sandbox, study: BenchStudy, options: Options) -> NaiveOutcome:
    """The whole study when small, else a sample extrapolated linearly."""
    sample = None if study.files <= options.naive_full_up_to else options.naive_sample
    if options.dataservice_files:  # every look-up scans the filler: a small sample only
        sample = min(sample or study.files, options.naive_sample_filled)
    return run_naive(sandbox.naive, sandbox.s3_url, study.manifest, sample)


def _required(run: PipelineRun) -> PipelineRun:
    if not run.success:
        raise RuntimeError(f"ingest_gwo ({run.label}) failed: the benchmark measures only "
                           "successful runs; see the Dagster output above")
    return run

"""One study size end to end: build, pipeline fresh, write floor, pipeline rerun, naive loader.

The floor is measured right after the fresh load, on the same DataService, so
the two see the same machine load; the naive loader runs on a second copy of
the same study (same plan, same S3 objects) so it too starts fresh.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from gwo_assets_tests.bench.host import DataServiceProcess, ServerProcess
from gwo_assets_tests.bench.naive_loader import NaiveOutcome, run_naive
from gwo_assets_tests.bench.pipeline_run import PipelineRun, fresh_file_payloads, run_pipeline
from gwo_assets_tests.bench.study import build_study, plan_for_files, study_table_rows
from gwo_assets_tests.bench.targets import Verdict, size_verdicts
from gwo_assets_tests.bench.write_floor import WriteFloor, measure_write_floor


@dataclass(frozen=True)
class Options:
    seed: int = 7
    floor_seconds: float = 5.0
    naive_full_up_to: int = 2_000
    naive_sample: int = 1_000
    latency_ms: int = 0  # added to every DataService answer after the study is built


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


def run_size(files: int, options: Options, workdir: Path, log=print) -> SizeResult:
    """Every measurement of one study size, on sandbox servers started for it."""
    load_before = os.getloadavg()[0]
    plan = plan_for_files(files, options.seed)
    log(f"[{files:,}] plan: {len(plan.harmonized):,} files, {len(plan.biospecimens):,} specimens")
    with ServerProcess("s3") as s3, DataServiceProcess() as pipeline_ds, \
            DataServiceProcess() as naive_ds:
        study = build_study(plan, [pipeline_ds.url, naive_ds.url], s3.url, workdir)
        table_rows = study_table_rows(pipeline_ds.url, plan.study_id)
        for dataservice in (pipeline_ds, naive_ds):
            dataservice.set_latency_ms(options.latency_ms)
        log(f"[{files:,}] study built in {study.seconds:.0f} s; running the pipeline (fresh)")
        reports = workdir / "reports"
        fresh, result = run_pipeline("fresh", pipeline_ds, s3.url, plan.study_id, study.manifest,
                                     reports)
        _require(fresh)
        log(f"[{files:,}] fresh load {fresh.seconds:.1f} s; measuring the write floor")
        floor = measure_write_floor(pipeline_ds, fresh_file_payloads(result), options.floor_seconds)
        del result
        facts = StudyFacts(files, study.files, len(plan.biospecimens), study.manifest_rows,
                           table_rows, study_table_rows(pipeline_ds.url, plan.study_id),
                           study.seconds, options.latency_ms)
        rerun, _ = run_pipeline("rerun", pipeline_ds, s3.url, plan.study_id, study.manifest, reports)
        _require(rerun)
        sample = None if study.files <= options.naive_full_up_to else options.naive_sample
        log(f"[{files:,}] rerun {rerun.seconds:.1f} s; naive loader on "
            f"{'all' if sample is None else sample} files")
        started = time.perf_counter()
        naive = run_naive(naive_ds, s3.url, study.manifest, sample)
        log(f"[{files:,}] naive loader {time.perf_counter() - started:.0f} s")
    verdicts = size_verdicts(facts.files, facts.total_table_rows, facts.rerun_total_table_rows,
                             fresh, rerun, floor, naive)
    return SizeResult(facts, fresh, rerun, floor, naive, verdicts,
                      (load_before, os.getloadavg()[0]))


def _require(run: PipelineRun) -> None:
    if not run.success:
        raise RuntimeError(f"ingest_gwo ({run.label}) failed: the benchmark measures only "
                           "successful runs; see the Dagster output above")

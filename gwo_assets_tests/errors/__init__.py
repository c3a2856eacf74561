"""Error classes through the whole ingest_gwo job (docs/errors.md): environment, transient,
logical, reconciliation, skip_invalid_rows.

Helpers shared by the modules of this package: the generated study's facts, manifests
built from its real rows, and readers for what a run leaves behind (step failure
messages, failed checks' offending-rows CSVs, ERROR log lines, the report).
"""

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import DagsterInstance, ExecuteInProcessResult

from gwo_assets.sandbox.generator.model import Biospecimen, Experiment, HarmonizedFile, SourceFile

HEADER = {"filepath": "Filepath", "source_read": "Source Read",
          "biospecimen_id": "KF Biospecimen ID", "participant_id": "KF Participant ID",
          "data_type": "Data Type", "workflow_type": "Workflow Type"}


def file_rows(harmonized: HarmonizedFile, **changes: str) -> list[dict[str, str]]:
    """The manifest rows of one harmonized file (one per source read), with ``changes``."""
    return [{"filepath": harmonized.filepath, "source_read": read,
             "biospecimen_id": ",".join(b.kf_id for b in harmonized.biospecimens),
             "participant_id": harmonized.participant.kf_id,
             "data_type": harmonized.data_type, "workflow_type": harmonized.workflow_type,
             **changes} for read in harmonized.source_reads]


def write_manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    """A TSV GWO manifest; data row ``i`` of ``rows`` is file row ``i + 2``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER.values())
        writer.writerows([row.get(column, "") for column in HEADER] for row in rows)
    return path


@dataclass(frozen=True)
class StudyFacts:
    """Named pieces of the generated study the error cases are built from.

    ``multi`` is a biospecimen sequenced twice (WGS and RNA-Seq); ``other`` a biospecimen
    of another participant.
    """

    study: Any
    multi: Biospecimen
    wgs: Experiment
    rna: Experiment
    other: Biospecimen

    @classmethod
    def of(cls, study: Any) -> "StudyFacts":
        plan = study.plan
        by_specimen: dict[str, dict[str, Experiment]] = {}
        for experiment in plan.experiments:
            strategies = by_specimen.setdefault(experiment.biospecimen.kf_id, {})
            strategies[experiment.strategy] = experiment
        multi_id = next(bs for bs, strategies in by_specimen.items()
                        if {"WGS", "RNA-Seq"} <= set(strategies))
        multi = next(b for b in plan.biospecimens if b.kf_id == multi_id)
        other = next(b for b in plan.biospecimens
                     if b.participant.kf_id != multi.participant.kf_id)
        return cls(study, multi, by_specimen[multi_id]["WGS"], by_specimen[multi_id]["RNA-Seq"],
                   other)

    @property
    def wgs_read(self) -> SourceFile:
        return self.wgs.reads[0]

    @property
    def rna_read(self) -> SourceFile:
        return self.rna.reads[0]

    def outputs(self, biospecimen: Biospecimen | None = None, *,
                strategy: str | None = None) -> list[HarmonizedFile]:
        """Single-biospecimen outputs of ``biospecimen`` (default ``multi``) made from reads of
        experiments with ``strategy``."""
        biospecimen = biospecimen or self.multi
        experiment_of = {f.url: e for e in self.study.plan.experiments for f in e.files}
        return [h for h in self.study.harmonized
                if [b.kf_id for b in h.biospecimens] == [biospecimen.kf_id]
                and (strategy is None
                     or {experiment_of[r].strategy for r in h.source_reads} == {strategy})]

    def participant_outputs(self, participant_id: str) -> list[HarmonizedFile]:
        return [h for h in self.study.harmonized if h.participant.kf_id == participant_id]

    def unknown_kf_id(self, prefix: str) -> str:
        """A well-formed kf_id that no entity of the study has."""
        taken = self.study.kf_ids()
        for letter in "ZYXWVTSRQPNMKJHGFEDCBA9876543210":
            candidate = f"{prefix}_{letter * 8}"
            if candidate not in taken:
                return candidate
        raise AssertionError("no free kf_id")


def failure_messages(result: ExecuteInProcessResult) -> dict[str, str]:
    """step key -> the failure message Dagster shows for that step."""
    messages = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.event_specific_data
            messages[event.step_key] = (data.user_failure_data.description
                                        if data.user_failure_data else data.error.message)
    return messages


def step_events(result: ExecuteInProcessResult, event_type: str) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == event_type}


def check_evaluations(result: ExecuteInProcessResult) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def offending_rows(result: ExecuteInProcessResult) -> pd.DataFrame:
    """Every failed check's offending rows (its CSV), with the Dagster check's name."""
    frames = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and "all_rows_csv" in evaluation.metadata:
            frame = pd.read_csv(evaluation.metadata["all_rows_csv"].value, dtype=str,
                                keep_default_na=False)
            frames.append(frame.assign(dagster_check=evaluation.check_name))
    if not frames:
        return pd.DataFrame(columns=["dagster_check", "check", "row", "column", "value",
                                     "expected", "severity"])
    return pd.concat(frames, ignore_index=True)


def has_issue(rows: pd.DataFrame, **expected: Any) -> bool:
    """True when one offending row has every ``column=value`` of ``expected``."""
    mask = pd.Series(True, index=rows.index)
    for column, value in expected.items():
        mask &= rows[column] == str(value)
    return bool(mask.any())


def error_log_lines(instance: DagsterInstance, run_id: str) -> list[str]:
    """The run's ERROR-level log lines: what a CLI user sees without DEBUG events."""
    return [entry.user_message for entry in instance.all_logs(run_id)
            if entry.level >= 40 and entry.user_message]


def read_report(report_dir: Path, run_id: str) -> dict:
    return json.loads((report_dir / run_id / "report.json").read_text())

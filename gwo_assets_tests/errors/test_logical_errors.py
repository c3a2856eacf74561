"""Logical errors (check 3): well-formed rows that contradict the DataService or S3. Each
stops the run at a blocking check before any write, and the check's offending-rows CSV
names the file row, the manifest column and the value.

``test_every_logical_error_is_listed_in_one_run`` puts all seven in one manifest (a user sees
every problem at once, not one per run); the e2e cases run each alone, to show that each is
enough to stop the run.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from dagster import DagsterInstance

from gwo_assets_tests.errors import (StudyFacts, check_evaluations, error_log_lines, file_rows,
                                     has_issue, offending_rows, step_events, write_manifest)
from gwo_assets_tests.errors.conftest import BUCKET
from gwo_assets_tests.support import run_ingest

WRITE_STEPS = {"genomic_files", "biospecimen_genomic_files", "sequencing_experiment_genomic_files"}


@dataclass(frozen=True)
class Expected:
    """One offending row: Dagster check, rule, CSV row number, manifest column, value."""

    dagster_check: str
    check: str
    column: str
    value: str


@dataclass(frozen=True)
class Defect:
    """``rows(facts)`` -> the manifest rows of one file, one of them wrong;
    ``expected(facts)`` -> the issue it must raise (row relative to the file's first row)."""

    name: str
    rows: Callable[[StudyFacts], list[dict[str, str]]]
    expected: Callable[[StudyFacts], tuple[int, Expected]]


def _wgs_cram(f: StudyFacts):
    return next(h for h in f.outputs(strategy="WGS") if h.filepath.endswith(".cram"))


def _wgs_index(f: StudyFacts):
    return next(h for h in f.outputs(strategy="WGS") if h.filepath.endswith(".crai"))


def _rna(f: StudyFacts, suffix: str):
    return next(h for h in f.outputs(strategy="RNA-Seq") if h.filepath.endswith(suffix))


DEFECTS = [
    Defect(
        "biospecimen_not_in_study",
        lambda f: file_rows(_wgs_index(f), biospecimen_id=f.unknown_kf_id("BS")),
        lambda f: (0, Expected("manifest_matches_dataservice", "biospecimen_not_in_study",
                               "KF Biospecimen ID", f.unknown_kf_id("BS")))),
    Defect(
        "biospecimen_of_another_participant",
        lambda f: file_rows(_rna(f, ".rsem.genes.results.gz"), biospecimen_id=f.other.kf_id),
        lambda f: (0, Expected("manifest_matches_dataservice", "biospecimen_participant_mismatch",
                               "KF Participant ID", f.multi.participant.kf_id))),
    Defect(
        # An output of the study pointed at as a source: it is not an unharmonized file.
        "source_read_not_an_unharmonized_file",
        lambda f: file_rows(_rna(f, ".arriba.fusions.tsv"))[:1]
        + [dict(file_rows(_rna(f, ".arriba.fusions.tsv"))[0], source_read=_wgs_cram(f).filepath)],
        lambda f: (1, Expected("manifest_matches_dataservice", "source_read_not_in_study",
                               "Source Read", _wgs_cram(f).filepath))),
    Defect(
        # other's output made from multi's read: it would get multi's experiment and access.
        "source_read_of_another_sample",
        lambda f: file_rows(f.outputs(f.other)[1], source_read=f.wgs_read.url)[:1],
        lambda f: (0, Expected("manifest_matches_dataservice", "source_read_of_another_sample",
                               "Source Read", f.wgs_read.url))),
    Defect(
        "filepath_missing_from_s3",
        lambda f: file_rows(_wgs_index(f), filepath=f"s3://{BUCKET}/harmonized/alignment/"
                                                    f"{f.multi.kf_id}.WGS.GRCh38.v2.cram.crai"),
        lambda f: (0, Expected("harmonized_files_exist_in_s3", "s3_object_missing", "Filepath",
                               f"s3://{BUCKET}/harmonized/alignment/"
                               f"{f.multi.kf_id}.WGS.GRCh38.v2.cram.crai"))),
    Defect(
        # One output whose source reads are a WGS read and an RNA-Seq read of one biospecimen.
        "source_reads_span_wgs_and_rna_seq",
        lambda f: [dict(file_rows(_wgs_cram(f))[0], source_read=f.wgs_read.url),
                   dict(file_rows(_wgs_cram(f))[0], source_read=f.rna_read.url)],
        lambda f: (0, Expected("manifest_matches_dataservice", "mixed_experiment_strategies",
                               "Source Read", "RNA-Seq, WGS"))),
    Defect(
        # Blank Source Read: the biospecimen fallback finds its WGS and its RNA-Seq experiment.
        "blank_source_read_with_ambiguous_fallback",
        lambda f: [dict(file_rows(_rna(f, ".bam"))[0], source_read="",
                        filepath=_rna(f, ".bam").filepath)],
        lambda f: (0, Expected("manifest_matches_dataservice", "mixed_experiment_strategies",
                               "Source Read", "RNA-Seq, WGS"))),
]


def assert_stopped_before_any_write(result, stack) -> None:
    assert not result.success
    assert stack.dataservice.write_count() == 0
    assert not WRITE_STEPS & step_events(result, "STEP_START")


def test_every_logical_error_is_listed_in_one_run(stack, facts, tmp_path):
    """Seven defective files and a valid one: every defect named, the valid file not."""
    valid = file_rows(facts.outputs(facts.other)[0])
    rows, expected = list(valid), []
    for defect in DEFECTS:  # each on a Filepath of its own, so no defect hides another
        offset, issue = defect.expected(facts)
        expected.append((len(rows) + offset + 2, issue))
        rows += defect.rows(facts)
    assert len({row["filepath"] for row in rows}) == len(DEFECTS) + 1
    manifest = write_manifest(tmp_path / "logical.tsv", rows)

    stack.dataservice.reset_counts()
    instance = DagsterInstance.ephemeral()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, manifest=str(manifest),
                        instance=instance)

    assert_stopped_before_any_write(result, stack)
    offending = offending_rows(result)
    for row, issue in expected:
        assert has_issue(offending, row=row, **vars(issue)), (row, issue,
                                                              offending.to_dict("records"))
    valid_rows = {str(n + 2) for n in range(len(valid))}
    assert not valid_rows & set(offending.loc[offending["severity"] == "error", "row"])
    evaluations = check_evaluations(result)
    for name in ("manifest_matches_dataservice", "harmonized_files_exist_in_s3"):
        assert not evaluations[name].passed and evaluations[name].blocking
    # The CLI shows each failing check as one ERROR line naming the rows.
    log = "\n".join(error_log_lines(instance, result.run_id))
    assert "Manifest vs DataService: " in log and "S3 objects: 1 error(s)" in log
    assert f"column 'KF Biospecimen ID': '{facts.unknown_kf_id('BS')}'" in log


@pytest.mark.e2e
@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_each_logical_error_alone_stops_the_run(defect, stack, facts, tmp_path):
    manifest = write_manifest(tmp_path / f"{defect.name}.tsv", defect.rows(facts))
    offset, issue = defect.expected(facts)
    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, manifest=str(manifest))

    assert_stopped_before_any_write(result, stack)
    offending = offending_rows(result)
    assert has_issue(offending, row=offset + 2, **vars(issue)), offending.to_dict("records")
    failed = {name for name, e in check_evaluations(result).items() if not e.passed
              and e.severity.value == "ERROR"}
    assert failed == {issue.dagster_check}

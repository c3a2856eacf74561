"""validate_manifest: each check, its explanation, and the summary a person reads."""

from pathlib import Path

import pandas as pd
import pytest

from gwo_assets.core.manifest import OUTPUT_COLUMNS, normalize_manifest, read_manifest_bytes
from gwo_assets.core.manifest_rules import (
    ISSUE_COLUMNS,
    explain_enum,
    explain_kf_id,
    explain_s3_uri,
    summarize_issues,
    validate_manifest,
)
from gwo_assets.core.enums import DATA_TYPES, WORKFLOW_TYPES

GOOD = {
    "filepath": "s3://kf-bucket/harmonized/a.cram",
    "source_read": "s3://kf-bucket/source/a.bam",
    "biospecimen_id": "BS_0A1B2C3D",
    "participant_id": "PT_0A1B2C3D",
    "data_type": "Aligned Reads",
    "workflow_type": "Alignment",
}


def manifest(*changes: dict) -> pd.DataFrame:
    """A manifest DataFrame with one good row per ``changes`` dict (file rows 2, 3, ...)."""
    rows = [{"row": number + 2, **GOOD, **change} for number, change in enumerate(changes)]
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS).astype({column: object for column in OUTPUT_COLUMNS[1:]})


def issue_tuples(issues: pd.DataFrame) -> list[tuple]:
    return list(issues[["check", "severity", "row", "column", "value"]].itertuples(index=False, name=None))


def test_a_good_manifest_has_no_issues():
    issues = validate_manifest(manifest({}, {"biospecimen_id": "BS_0A1B2C3E", "source_read": None}))
    assert list(issues.columns) == ISSUE_COLUMNS
    assert issue_tuples(issues) == [("source_read_blank", "warning", 3, "Source Read", None)]
    assert str(issues["row"].dtype) == "Int64"


def test_empty_issues_summary():
    assert summarize_issues(validate_manifest(manifest({}))) == "The manifest passed every check."


@pytest.mark.parametrize("column", ["filepath", "biospecimen_id", "participant_id", "data_type", "workflow_type"])
def test_blank_required_cells_are_errors(column: str):
    issues = validate_manifest(manifest({column: None}))
    assert ("blank_required", "error", 2) in [issue[:3] for issue in issue_tuples(issues)]
    assert issues.loc[0, "suggestion"].startswith("fill in ")


def test_optional_blank_family_id_is_fine_but_a_bad_one_is_checked():
    issues = validate_manifest(manifest({"family_id": None}, {"family_id": "FM_0A1B2C3", "biospecimen_id": "BS_0A1B2C3E"}))
    assert issue_tuples(issues) == [("kf_id_format", "error", 3, "KF Family ID", "FM_0A1B2C3")]


@pytest.mark.parametrize(
    ("value", "prefix", "explanation"),
    [
        ("BS_0A1B2C3", "BS", "has 7 characters after BS_, expected 8"),
        ("BS_0A1B2C3DE", "BS", "has 9 characters after BS_, expected 8"),
        ("BS_0A1B2COI", "BS", "contains I, O, which kf_ids never use; did you mean BS_0A1B2C01?"),
        ("BS_0A1B2CLD", "BS", "contains L, which kf_ids never use; did you mean BS_0A1B2C1D?"),
        ("PT_0A1B2C3U", "PT", "contains U, which kf_ids never use"),
        ("BS_0A1B#C3D", "BS", "contains '#', which kf_ids never use"),
        ("PT_0A1B2C3D", "BS", "PT_0A1B2C3D is a participant id; this column needs a biospecimen id (BS_...)"),
        ("BS_0A1B2C3D", "PT", "BS_0A1B2C3D is a biospecimen id; this column needs a participant id (PT_...)"),
        ("BX_0A1B2C3D", "BS", "prefix BX_ is not BS_; did you mean BS_0A1B2C3D?"),
        ("FM-0A1B2C3D", "FM", "did you mean FM_0A1B2C3D?"),
        ("BS0A1B2C3D", "BS", "did you mean BS_0A1B2C3D?"),
        ("12345", "BS", "a biospecimen kf_id looks like BS_0A1B2C3D"),
    ],
)
def test_kf_id_explanations(value: str, prefix: str, explanation: str):
    assert explain_kf_id(value, prefix) == explanation


def test_kf_id_issue_carries_expected_format_and_explanation():
    issues = validate_manifest(manifest({"biospecimen_id": "PT_0A1B2C3D"}))
    assert issue_tuples(issues) == [("kf_id_format", "error", 2, "KF Biospecimen ID", "PT_0A1B2C3D")]
    assert issues.loc[0, "expected"] == "BS_ followed by 8 characters of 0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert "is a participant id" in issues.loc[0, "suggestion"]


@pytest.mark.parametrize(
    ("value", "explanation"),
    [
        ("s3:/kf-bucket/a.cram", "write the scheme as s3:// (lower case, two slashes): did you mean s3://kf-bucket/a.cram?"),
        ("S3://kf-bucket/a.cram", "did you mean s3://kf-bucket/a.cram?"),
        ("s3:\\\\kf-bucket/a.cram", "did you mean s3://kf-bucket/a.cram?"),
        ("s3:// kf-bucket/a.cram", "did you mean s3://kf-bucket/a.cram?"),
        ("s3://kf-bucket /a.cram", "remove the spaces: did you mean s3://kf-bucket/a.cram?"),
        ("https://kf-bucket.s3.amazonaws.com/dir/a%20b.cram",
         "an https URL; give the s3:// URI: did you mean s3://kf-bucket/dir/a b.cram?"),
        ("https://kf-bucket.s3.us-east-1.amazonaws.com/a.cram", "did you mean s3://kf-bucket/a.cram?"),
        ("https://s3.amazonaws.com/kf-bucket/a.cram", "did you mean s3://kf-bucket/a.cram?"),
        ("https://example.org/a.cram", "an http(s) URL, not an S3 location; give the file's s3://bucket/key"),
        ("kf-bucket/a.cram", "add the s3:// prefix: did you mean s3://kf-bucket/a.cram?"),
        ("/data/a.cram", "a local path; give the s3://bucket/key the file was uploaded to"),
        ("C:\\data\\a.cram", "a local path"),
        ("gs://kf-bucket/a.cram", "a gs:// location; only s3:// files can be loaded"),
        ("s3://kf-bucket/", "names a bucket or folder, not a file; add the object key"),
        ("s3://KF_Bucket/a.cram", "'KF_Bucket' is not an S3 bucket name"),
    ],
)
def test_s3_uri_explanations(value: str, explanation: str):
    assert explanation in explain_s3_uri(value)


def test_s3_uri_issues_for_filepath_and_source_read():
    issues = validate_manifest(manifest({"filepath": "s3:/kf-bucket/a.cram", "source_read": "http://x/y"}))
    assert issue_tuples(issues) == [
        ("s3_uri_format", "error", 2, "Filepath", "s3:/kf-bucket/a.cram"),
        ("s3_uri_format", "error", 2, "Source Read", "http://x/y"),
    ]
    assert set(issues["expected"]) == {"s3://bucket/key"}


def test_s3_keys_with_inner_spaces_are_valid():
    assert validate_manifest(manifest({"filepath": "s3://kf-bucket/my dir/a b.cram"})).empty


@pytest.mark.parametrize(
    ("value", "allowed", "explanation"),
    [
        ("gvcf", DATA_TYPES, "did you mean 'gVCF'? (values are case-sensitive)"),
        ("aligned reads", DATA_TYPES, "did you mean 'Aligned Reads'? (values are case-sensitive)"),
        ("Alligned Reads", DATA_TYPES, "did you mean 'Aligned Reads'?"),
        ("GATK HaplotypeCaller gVCF", WORKFLOW_TYPES, "did you mean 'GATK-HaplotypeCaller-gVCF'?"),
        ("family_joint_genotyping", WORKFLOW_TYPES, "did you mean 'Family-Joint-Genotyping'?"),
        ("zzz", WORKFLOW_TYPES, "valid values: 10x-Single-Cell-Alignment, Alignment, "),
        ("zzz", DATA_TYPES, "not a DataService value; matching is exact and case-sensitive"),
    ],
)
def test_enum_explanations(value: str, allowed: frozenset, explanation: str):
    assert explain_enum(value, allowed).startswith(explanation)


def test_enum_issues():
    issues = validate_manifest(manifest({"data_type": "gvcf", "workflow_type": "Not Reported"}))
    assert issue_tuples(issues) == [("enum_value", "error", 2, "Data Type", "gvcf")]
    assert issues.loc[0, "expected"] == "one of the 161 DataService Data Type values"


def test_rows_of_one_filepath_must_agree_and_the_minority_is_reported():
    issues = validate_manifest(manifest(
        {},
        {"source_read": "s3://kf-bucket/source/b.bam", "data_type": "gVCF"},
        {"source_read": "s3://kf-bucket/source/c.bam"},
    ))
    assert issue_tuples(issues) == [("filepath_conflict", "error", 3, "Data Type", "gVCF")]
    assert issues.loc[0, "expected"] == "Aligned Reads"
    assert "has Data Type 'Aligned Reads' on row(s) 2, 4" in issues.loc[0, "suggestion"]


def test_a_tie_goes_to_the_earliest_row():
    issues = validate_manifest(manifest({"workflow_type": "Somatic-Mutation"},
                                        {"source_read": "s3://kf-bucket/source/b.bam"}))
    assert issue_tuples(issues) == [("filepath_conflict", "error", 3, "Workflow Type", "Alignment")]
    assert issues.loc[0, "expected"] == "Somatic-Mutation"


def test_majority_counts_file_rows_not_exploded_biospecimens():
    rows = [{"biospecimen_id": f"BS_0A1B2C3{last}"} for last in "DEF"]  # one file row with three biospecimens
    rows += [{"row": 3, "source_read": f"s3://kf-bucket/source/{name}.bam", "participant_id": "PT_0A1B2C3E"}
             for name in ("b", "c")]
    frame = manifest(*rows)
    frame["row"] = [2, 2, 2, 3, 4]
    issues = validate_manifest(frame)
    assert issue_tuples(issues) == [("filepath_conflict", "error", 2, "KF Participant ID", "PT_0A1B2C3D")]
    assert issues.loc[0, "expected"] == "PT_0A1B2C3E"


@pytest.mark.parametrize("column, header", [("cavatica_id", "Cavatica ID"),
                                            ("cavatica_task_id", "Cavatica Task ID"),
                                            ("family_id", "KF Family ID")])
def test_rows_of_one_filepath_must_agree_on_every_per_file_column(column, header):
    """One genomic file gets one value: rows that disagree would mix values in one payload."""
    values = {"cavatica_id": ("5f0c1a", "6a1b2c"), "cavatica_task_id": ("task-1", "task-2"),
              "family_id": ("FM_0A1B2C3D", "FM_0A1B2C3E")}[column]
    issues = validate_manifest(manifest(
        {column: values[0]},
        {"source_read": "s3://kf-bucket/source/b.bam", column: values[1]},
        {"source_read": "s3://kf-bucket/source/c.bam", column: values[0]},
        {"source_read": "s3://kf-bucket/source/d.bam", column: None},  # blank: not given
    ))
    assert issue_tuples(issues) == [("filepath_conflict", "error", 3, header, values[1])]
    assert issues.loc[0, "expected"] == values[0]
    assert f"has {header} {values[0]!r} on row(s) 2, 4" in issues.loc[0, "suggestion"]


def test_family_joint_genotyping_files_may_name_several_participants():
    joint = {"workflow_type": "Family-Joint-Genotyping", "data_type": "Variant Calls"}
    issues = validate_manifest(manifest(joint, {**joint, "biospecimen_id": "BS_0A1B2C3E",
                                                "participant_id": "PT_0A1B2C3E"}))
    assert issues.empty


def test_filepath_equal_to_its_source_read_is_an_error():
    issues = validate_manifest(manifest({"source_read": GOOD["filepath"]}))
    assert issue_tuples(issues) == [("filepath_is_source_read", "error", 2, "Source Read", GOOD["filepath"])]


def test_duplicate_rows_are_warnings_pointing_at_the_first():
    frame = manifest({}, {}, {})
    frame["row"] = [2, 2, 5]  # a repeated id in one cell, then a repeated row
    issues = validate_manifest(frame)
    assert issue_tuples(issues) == [
        ("duplicate_row", "warning", 2, "KF Biospecimen ID", "BS_0A1B2C3D"),
        ("duplicate_row", "warning", 5, "KF Biospecimen ID", "BS_0A1B2C3D"),
    ]
    assert set(issues["suggestion"]) == {"repeats row 2; it is loaded once"}


def test_issues_of_exploded_rows_are_reported_once_per_file_row():
    frame = manifest({"biospecimen_id": "BS_0A1B2C3D", "participant_id": None},
                     {"biospecimen_id": "BS_0A1B2C3E", "participant_id": None})
    frame["row"] = [2, 2]
    assert issue_tuples(validate_manifest(frame)) == [("blank_required", "error", 2, "KF Participant ID", None)]


def test_long_values_are_shortened_in_issues():
    issues = validate_manifest(manifest({"data_type": "x" * 5000}))
    assert issues.loc[0, "value"] == "x" * 200 + "... (5000 characters)"


def test_summary_counts_by_check_and_shows_one_example_of_each_first():
    issues = validate_manifest(manifest(
        {"data_type": "gvcf"}, {"data_type": "gvcf", "source_read": None, "biospecimen_id": "BS_0A1B2C3E"},
        {"participant_id": "PT_0A1B2C3", "filepath": "s3://kf-bucket/harmonized/b.cram", "data_type": "gvcf"},
    ))
    summary = summarize_issues(issues, examples=2)
    assert summary.startswith(
        "The manifest has 4 errors and 1 warning (3 enum_value, 1 kf_id_format, 1 source_read_blank (warning)). "
        "Row 2, Data Type 'gvcf': expected one of the 161 DataService Data Type values "
        "(did you mean 'gVCF'? (values are case-sensitive)); Row 4, KF Participant ID 'PT_0A1B2C3': expected PT_"
    )
    assert summary.endswith("; and 3 more.")
    assert "\n" not in summary


def test_a_typo_in_one_row_of_a_file_blames_only_that_row_not_the_valid_one():
    """Issue 21 item 8: row 2 'gvcf' (a typo) and row 3 'gVCF' (valid) of one Filepath. The tie
    used to make the typo the file's value, so the valid row 3 was flagged as a conflict with a
    suggestion to change 'gVCF' into the typo. Only the invalid row is an error."""
    issues = validate_manifest(manifest(
        {"data_type": "gvcf", "workflow_type": "GATK-HaplotypeCaller-gVCF"},
        {"data_type": "gVCF", "workflow_type": "GATK-HaplotypeCaller-gVCF",
         "source_read": "s3://kf-bucket/source/b.bam"},
    ))
    assert issue_tuples(issues) == [("enum_value", "error", 2, "Data Type", "gvcf")]
    assert issues.loc[0, "suggestion"] == "did you mean 'gVCF'? (values are case-sensitive)"


def test_the_issue_21_manifest_flags_row_6_only():
    """The manifest of the report: rows 6 ('gvcf') and 7 ('gVCF') of one Filepath, read from
    the file, so the row numbers are the file's."""
    path = Path(__file__).parents[1] / "manifests" / "data_type_typo_beside_valid.tsv"
    issues = validate_manifest(normalize_manifest(read_manifest_bytes(path.read_bytes(), path.name)))
    errors = issues[issues["severity"] == "error"]
    assert issue_tuples(errors) == [("enum_value", "error", 6, "Data Type", "gvcf")]
    assert errors["suggestion"].tolist() == ["did you mean 'gVCF'? (values are case-sensitive)"]
    assert "Row 7" not in summarize_issues(issues)


@pytest.mark.parametrize("column, bad, good", [
    ("data_type", "gvcf", "gVCF"),
    ("workflow_type", "Alignmnet", "Alignment"),
    ("participant_id", "PT_0A1B2C3U", "PT_0A1B2C3D"),
    ("family_id", "FM-0A1B2C3D", "FM_0A1B2C3D"),
])
def test_a_malformed_value_never_outvotes_valid_rows_of_its_file(column, bad, good):
    """Two typo rows against one valid row: the typo is the majority, yet only the typo rows are
    errors (by their own check); the valid row is not told to become the typo."""
    issues = validate_manifest(manifest(
        {column: bad, "source_read": "s3://kf-bucket/source/b.bam"},
        {column: bad, "source_read": "s3://kf-bucket/source/c.bam"},
        {column: good},
    ))
    assert [issue[2] for issue in issue_tuples(issues)] == [2, 3]
    assert set(issues["check"]) <= {"enum_value", "kf_id_format"}
    assert set(issues["value"]) == {bad}


def test_valid_values_that_disagree_are_still_a_conflict_beside_a_typo():
    issues = validate_manifest(manifest(
        {},
        {"data_type": "gVCF", "source_read": "s3://kf-bucket/source/b.bam"},
        {"data_type": "aligned reads", "source_read": "s3://kf-bucket/source/c.bam"},
        {"source_read": "s3://kf-bucket/source/d.bam"},
    ))
    assert issue_tuples(issues) == [("filepath_conflict", "error", 3, "Data Type", "gVCF"),
                                    ("enum_value", "error", 4, "Data Type", "aligned reads")]
    assert "has Data Type 'Aligned Reads' on row(s) 2, 5" in issues.loc[0, "suggestion"]

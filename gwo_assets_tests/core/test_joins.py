import pandas as pd

from gwo_assets.core.joins import (
    ISSUE_COLUMNS,
    SOURCE_COLUMNS,
    harmonized_biospecimens,
    harmonized_experiments,
    join_manifest_to_sources,
    join_study_sources,
    logical_issues,
)

AUTHZ = ["/programs/SD_11111111"]
WGS_READ = "s3://bucket/source/pt1.wgs.cram"
RNA_READ = "s3://bucket/source/pt1.rna.bam"
NO_EXPERIMENT_READ = "s3://bucket/source/pt2.cram"


def _file(kf_id, external_id, *, harmonized=False, visible=True, controlled=True):
    return {
        "kf_id": kf_id, "external_id": external_id, "is_harmonized": harmonized,
        "visible": visible, "controlled_access": controlled, "authz": AUTHZ, "acl": [],
    }


def study_tables():
    """Biospecimen BS_1 has a WGS and an RNA-Seq source file; BS_2 a file without experiment."""
    genomic_files = pd.DataFrame([
        _file("GF_WGS", WGS_READ),
        _file("GF_RNA", RNA_READ),
        _file("GF_NOEXP", NO_EXPERIMENT_READ),
        _file("GF_NOBS", "s3://bucket/source/unlinked.cram"),
        _file("GF_HARM", "s3://bucket/harmonized/old.cram", harmonized=True),
        _file("GF_HIDDEN", "s3://bucket/source/hidden.cram", visible=False),
    ])
    experiments = pd.DataFrame([
        {"kf_id": "SE_WGS", "external_id": "wgs", "experiment_strategy": "WGS", "visible": True},
        {"kf_id": "SE_RNA", "external_id": "rna", "experiment_strategy": "RNA-Seq", "visible": True},
        {"kf_id": "SE_HIDDEN", "external_id": "h", "experiment_strategy": "WXS", "visible": False},
    ])
    se_links = pd.DataFrame([
        {"kf_id": "SG_1", "genomic_file_id": "GF_WGS", "sequencing_experiment_id": "SE_WGS", "visible": True},
        {"kf_id": "SG_2", "genomic_file_id": "GF_RNA", "sequencing_experiment_id": "SE_RNA", "visible": True},
        {"kf_id": "SG_3", "genomic_file_id": "GF_NOBS", "sequencing_experiment_id": "SE_WGS", "visible": True},
        {"kf_id": "SG_4", "genomic_file_id": "GF_NOEXP", "sequencing_experiment_id": "SE_HIDDEN",
         "visible": True},
        {"kf_id": "SG_5", "genomic_file_id": "GF_RNA", "sequencing_experiment_id": "SE_WGS", "visible": False},
    ])
    bs_links = pd.DataFrame([
        {"kf_id": "BG_1", "genomic_file_id": "GF_WGS", "biospecimen_id": "BS_1", "visible": True},
        {"kf_id": "BG_2", "genomic_file_id": "GF_RNA", "biospecimen_id": "BS_1", "visible": True},
        {"kf_id": "BG_3", "genomic_file_id": "GF_NOEXP", "biospecimen_id": "BS_2", "visible": True},
        {"kf_id": "BG_4", "genomic_file_id": "GF_HARM", "biospecimen_id": "BS_1", "visible": True},
    ])
    return genomic_files, experiments, se_links, bs_links


def manifest(*rows):
    """Manifest rows as (filepath, source_read, biospecimen_id[, participant_id]); rows numbered from 2."""
    records = []
    for number, values in enumerate(rows, start=2):
        filepath, source_read, biospecimen_id, *participant = values
        records.append({
            "row": number, "filepath": filepath, "source_read": source_read,
            "biospecimen_id": biospecimen_id, "participant_id": participant[0] if participant else "PT_1",
            "data_type": "Aligned Reads", "workflow_type": "Alignment",
        })
    return pd.DataFrame(records)


def sources():
    return join_study_sources(*study_tables())


def test_sources_keep_visible_unharmonized_files_and_their_visible_links():
    result = sources()

    assert list(result.columns) == SOURCE_COLUMNS
    assert set(result["source_genomic_file_id"]) == {"GF_WGS", "GF_RNA", "GF_NOEXP", "GF_NOBS"}
    pairs = set(zip(result["source_genomic_file_id"], result["sequencing_experiment_id"].fillna("-")))
    # the hidden SE link and the hidden experiment are dropped
    assert pairs == {("GF_WGS", "SE_WGS"), ("GF_RNA", "SE_RNA"), ("GF_NOBS", "SE_WGS"), ("GF_NOEXP", "-")}
    no_biospecimen = result[result["source_genomic_file_id"] == "GF_NOBS"]
    assert no_biospecimen["biospecimen_id"].isna().all()
    assert result.loc[result["source_genomic_file_id"] == "GF_WGS", "authz"].iloc[0] == AUTHZ


def test_sources_of_an_empty_study_are_empty_with_the_columns():
    empty = pd.DataFrame()

    result = join_study_sources(empty, empty, empty, empty)

    assert result.empty
    assert list(result.columns) == SOURCE_COLUMNS


def test_source_read_joins_exactly_and_never_crosses_experiments_of_the_biospecimen():
    rows = manifest(("s3://bucket/harmonized/pt1.wgs.cram", WGS_READ, "BS_1"),
                    ("s3://bucket/harmonized/pt1.rsem.genes.results.gz", RNA_READ, "BS_1"))

    joined = join_manifest_to_sources(rows, sources())

    assert joined[["filepath", "sequencing_experiment_id", "experiment_strategy", "match"]].values.tolist() == [
        ["s3://bucket/harmonized/pt1.wgs.cram", "SE_WGS", "WGS", "source_read"],
        ["s3://bucket/harmonized/pt1.rsem.genes.results.gz", "SE_RNA", "RNA-Seq", "source_read"],
    ]
    assert joined["source_genomic_file_id"].tolist() == ["GF_WGS", "GF_RNA"]


def test_blank_source_read_falls_back_to_every_source_of_the_biospecimen():
    rows = manifest(("s3://bucket/harmonized/pt1.cram", None, "BS_1"),
                    ("s3://bucket/harmonized/pt1b.cram", "  ", "BS_1"))

    joined = join_manifest_to_sources(rows, sources())

    assert set(joined["match"]) == {"biospecimen_fallback"}
    assert sorted(joined.loc[joined["row"] == 2, "sequencing_experiment_id"]) == ["SE_RNA", "SE_WGS"]
    assert len(joined[joined["row"] == 3]) == 2


def test_unknown_source_read_is_unmatched_even_when_the_biospecimen_has_sources():
    rows = manifest(("s3://bucket/harmonized/x.cram", "s3://bucket/source/typo.cram", "BS_1"),
                    ("s3://bucket/harmonized/y.cram", None, "BS_9"))

    joined = join_manifest_to_sources(rows, sources())

    assert joined["match"].tolist() == ["unmatched", "unmatched"]
    assert joined["sequencing_experiment_id"].isna().all()
    assert joined["row"].tolist() == [2, 3]


def test_manifest_join_on_an_empty_study_leaves_every_row_unmatched():
    empty = pd.DataFrame()
    rows = manifest(("s3://bucket/harmonized/x.cram", WGS_READ, "BS_1"),
                    ("s3://bucket/harmonized/y.cram", None, "BS_1"))

    joined = join_manifest_to_sources(rows, join_study_sources(empty, empty, empty, empty))

    assert joined["match"].tolist() == ["unmatched", "unmatched"]
    assert "controlled_access" in joined.columns


def test_harmonized_experiments_and_biospecimens_are_distinct_links():
    rows = manifest(("s3://bucket/harmonized/pt1.g.vcf.gz", WGS_READ, "BS_1"),
                    ("s3://bucket/harmonized/pt1.g.vcf.gz", WGS_READ, "BS_1"),
                    ("s3://bucket/harmonized/x.cram", "s3://bucket/source/typo.cram", "BS_2"))
    joined = join_manifest_to_sources(rows, sources())

    assert harmonized_experiments(joined).values.tolist() == [["s3://bucket/harmonized/pt1.g.vcf.gz", "SE_WGS", "WGS"]]
    assert harmonized_biospecimens(rows).values.tolist() == [
        ["s3://bucket/harmonized/pt1.g.vcf.gz", "BS_1"], ["s3://bucket/harmonized/x.cram", "BS_2"],
    ]


def _issues_for(rows, study_biospecimens=None):
    study_sources = sources()
    if study_biospecimens is None:
        study_biospecimens = pd.DataFrame({"kf_id": ["BS_1", "BS_2", "BS_3"],
                                           "participant_id": ["PT_1", "PT_2", "PT_3"]})
    joined = join_manifest_to_sources(rows, study_sources)
    return logical_issues(rows, joined, study_biospecimens, study_sources)


def test_clean_manifest_has_no_logical_issues():
    issues = _issues_for(manifest(("s3://bucket/harmonized/pt1.cram", WGS_READ, "BS_1")))

    assert issues.empty
    assert list(issues.columns) == ISSUE_COLUMNS


def test_biospecimen_outside_the_study_and_of_another_participant_are_errors():
    issues = _issues_for(manifest(("s3://bucket/harmonized/a.cram", WGS_READ, "BS_OTHER"),
                                  ("s3://bucket/harmonized/b.cram", WGS_READ, "BS_1", "PT_2")))

    by_check = issues.set_index("check")
    assert by_check.loc["biospecimen_not_in_study", ["row", "column", "value"]].tolist() == [
        2, "KF Biospecimen ID", "BS_OTHER"]
    mismatch = by_check.loc["biospecimen_participant_mismatch"]
    assert mismatch[["row", "value", "expected", "severity"]].tolist() == [3, "PT_2", "PT_1", "error"]


def test_source_read_that_is_not_a_study_source_is_an_error():
    issues = _issues_for(manifest(("s3://bucket/harmonized/a.cram", "s3://bucket/harmonized/old.cram", "BS_1")))

    checks = dict(zip(issues["check"], issues["severity"]))
    assert checks == {"source_read_not_in_study": "error", "no_sequencing_experiment": "error"}
    assert issues["row"].tolist() == [2, 2]


def test_source_without_experiment_is_reported_once_per_file():
    issues = _issues_for(manifest(("s3://bucket/harmonized/pt2.cram", NO_EXPERIMENT_READ, "BS_2", "PT_2"),
                                  ("s3://bucket/harmonized/pt2.cram", NO_EXPERIMENT_READ, "BS_2", "PT_2")))

    assert issues[["check", "row", "value"]].values.tolist() == [
        ["no_sequencing_experiment", 2, "s3://bucket/harmonized/pt2.cram"]]


def test_fallback_is_a_warning_and_mixed_strategies_an_error():
    issues = _issues_for(manifest(("s3://bucket/harmonized/pt1.cram", None, "BS_1")))

    assert issues[["check", "row", "value", "severity"]].values.tolist() == [
        ["matched_by_biospecimen_only", 2, "BS_1", "warning"],
        ["mixed_experiment_strategies", 2, "RNA-Seq, WGS", "error"],
    ]


def test_source_reads_of_different_strategies_for_one_output_are_an_error():
    issues = _issues_for(manifest(("s3://bucket/harmonized/pt1.vcf.gz", WGS_READ, "BS_1"),
                                  ("s3://bucket/harmonized/pt1.vcf.gz", RNA_READ, "BS_1")))

    assert issues["check"].tolist() == ["mixed_experiment_strategies"]


def test_fallback_without_any_source_and_output_equal_to_a_source_are_errors():
    issues = _issues_for(manifest(("s3://bucket/harmonized/pt3.cram", None, "BS_3", "PT_3"),
                                  (WGS_READ, WGS_READ, "BS_1")))

    assert set(zip(issues["check"], issues["row"])) == {
        ("no_source_for_biospecimen", 2), ("no_sequencing_experiment", 2), ("filepath_is_source_file", 3)}


OTHER_READ = "s3://bucket/source/pt2.wgs.cram"
NORMAL_READ = "s3://bucket/source/pt1.normal.cram"
STUDY_BIOSPECIMENS = pd.DataFrame({"kf_id": ["BS_1", "BS_2", "BS_3"],
                                   "participant_id": ["PT_1", "PT_2", "PT_1"]})


def _two_samples():
    """Besides study_tables: PT_2/BS_2 has OTHER_READ and PT_1's normal BS_3 has NORMAL_READ."""
    genomic_files, experiments, se_links, bs_links = study_tables()
    added = {"GF_PT2": ("SE_PT2", "BS_2", OTHER_READ), "GF_NORM": ("SE_NORM", "BS_3", NORMAL_READ)}
    genomic_files = pd.concat([genomic_files, pd.DataFrame(
        [_file(gf, read) for gf, (_, _, read) in added.items()])])
    experiments = pd.concat([experiments, pd.DataFrame(
        [{"kf_id": se, "external_id": se, "experiment_strategy": "WGS", "visible": True}
         for se, _, _ in added.values()])])
    se_links = pd.concat([se_links, pd.DataFrame(
        [{"kf_id": f"SG_{gf}", "genomic_file_id": gf, "sequencing_experiment_id": se,
          "visible": True} for gf, (se, _, _) in added.items()])])
    bs_links = pd.concat([bs_links, pd.DataFrame(
        [{"kf_id": f"BG_{gf}", "genomic_file_id": gf, "biospecimen_id": bs, "visible": True}
         for gf, (_, bs, _) in added.items()])])
    return join_study_sources(genomic_files, experiments, se_links, bs_links)


def _sample_issues(rows):
    study_sources = _two_samples()
    joined = join_manifest_to_sources(rows, study_sources)
    return logical_issues(rows, joined, STUDY_BIOSPECIMENS, study_sources)


def test_a_source_read_of_another_sample_is_an_error_naming_both_samples():
    """BS_1/PT_1's output made from PT_2's read would be linked to PT_2's experiment."""
    issues = _sample_issues(manifest(("s3://bucket/harmonized/pt1.cram", OTHER_READ, "BS_1", "PT_1")))

    [issue] = issues.to_dict("records")
    assert (issue["check"], issue["row"], issue["column"], issue["value"], issue["severity"]) == (
        "source_read_of_another_sample", 2, "Source Read", OTHER_READ, "error")
    assert issue["expected"] == "a file of the row's BS_1 / PT_1; it is a file of BS_2 / PT_2"


def test_a_somatic_row_with_one_row_per_source_read_is_valid():
    """Tumor BS_1 and normal BS_3 of PT_1: each row names both biospecimens and one read."""
    rows = manifest(*[("s3://bucket/harmonized/pt1.maf", read, bs)
                      for read in (WGS_READ, NORMAL_READ, OTHER_READ) for bs in ("BS_1", "BS_3")])
    rows["row"] = [2, 2, 3, 3, 4, 4]  # three file rows of 'BS_1,BS_3', exploded

    assert _sample_issues(rows[rows["row"] < 4]).empty
    issues = _sample_issues(rows)  # row 4's read is PT_2's: reported once
    assert issues[["check", "row"]].values.tolist() == [["source_read_of_another_sample", 4]]

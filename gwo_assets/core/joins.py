"""Seed step 3 v-vi: which sequencing experiments each harmonized file comes from.

The seed joins the study's tables with the manifest on biospecimen ID. A
biospecimen can carry several experiments (e.g. WGS and RNA-Seq), so that join
would link a WGS output to the RNA-Seq experiment too. We join on the manifest's
Source Read (the source file's external_id) instead and use the biospecimen join
only for rows that have no Source Read, flagging them.
"""

import pandas as pd

SOURCE_COLUMNS = [
    "source_genomic_file_id",
    "source_external_id",
    "biospecimen_id",
    "sequencing_experiment_id",
    "experiment_strategy",
    "controlled_access",
    "authz",
    "acl",
]
MANIFEST_COLUMNS = [
    "row",
    "filepath",
    "source_read",
    "biospecimen_id",
    "participant_id",
    "data_type",
    "workflow_type",
]
MATCH_COLUMNS = [
    "source_genomic_file_id",
    "sequencing_experiment_id",
    "experiment_strategy",
    "controlled_access",
    "authz",
    "acl",
]
ISSUE_COLUMNS = ["check", "row", "column", "value", "expected", "suggestion", "severity"]

# Manifest headers, so that issues name the column the user edits.
HEADERS = {
    "filepath": "Filepath",
    "source_read": "Source Read",
    "biospecimen_id": "KF Biospecimen ID",
    "participant_id": "KF Participant ID",
}


def join_study_sources(
    genomic_files: pd.DataFrame,
    sequencing_experiments: pd.DataFrame,
    se_links: pd.DataFrame,
    bs_links: pd.DataFrame,
) -> pd.DataFrame:
    """One row per (visible unharmonized source file, biospecimen, experiment).

    Left joins keep a source file that lacks an experiment or a biospecimen, so
    the manifest join can still tell "source found, no experiment" apart from
    "source unknown".
    """
    files = with_columns(
        genomic_files, ["kf_id", "external_id", "is_harmonized", "visible", "controlled_access", "authz", "acl"]
    )
    files = files[~_flag(files["is_harmonized"], default=False) & _flag(files["visible"], default=True)]
    files = files.drop_duplicates("kf_id").rename(
        columns={"kf_id": "source_genomic_file_id", "external_id": "source_external_id"}
    )
    experiments = _visible(sequencing_experiments, ["kf_id", "experiment_strategy"]).rename(
        columns={"kf_id": "sequencing_experiment_id"}
    )
    file_experiments = _visible(se_links, ["genomic_file_id", "sequencing_experiment_id"]).merge(
        experiments, on="sequencing_experiment_id"
    )
    file_biospecimens = _visible(bs_links, ["genomic_file_id", "biospecimen_id"])
    joined = files.merge(
        file_biospecimens, how="left", left_on="source_genomic_file_id", right_on="genomic_file_id"
    ).drop(columns="genomic_file_id")
    joined = joined.merge(
        file_experiments, how="left", left_on="source_genomic_file_id", right_on="genomic_file_id"
    ).drop(columns="genomic_file_id")
    return joined[SOURCE_COLUMNS].reset_index(drop=True)


def join_manifest_to_sources(manifest: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """One row per (manifest row, matched source file and experiment), with ``match``.

    ``match`` is ``source_read`` (exact join on the source file's external_id),
    ``biospecimen_fallback`` (no Source Read: every source of the biospecimen) or
    ``unmatched``.
    """
    sources = with_columns(sources, SOURCE_COLUMNS)
    has_read = _present(manifest["source_read"])

    by_read = sources.drop(columns="biospecimen_id").drop_duplicates(
        ["source_genomic_file_id", "sequencing_experiment_id"]
    )
    exact = manifest[has_read].merge(
        by_read, how="left", left_on="source_read", right_on="source_external_id"
    )
    exact["match"] = exact["source_genomic_file_id"].notna().map({True: "source_read", False: "unmatched"})

    by_biospecimen = sources[sources["biospecimen_id"].notna()].drop_duplicates(
        ["biospecimen_id", "source_genomic_file_id", "sequencing_experiment_id"]
    )
    fallback = manifest[~has_read].merge(by_biospecimen, how="left", on="biospecimen_id")
    fallback["match"] = (
        fallback["source_genomic_file_id"].notna().map({True: "biospecimen_fallback", False: "unmatched"})
    )

    joined = pd.concat([exact, fallback], ignore_index=True)
    columns = list(manifest.columns) + [c for c in MATCH_COLUMNS + ["match"] if c not in manifest.columns]
    return joined[columns].sort_values("row", kind="stable").reset_index(drop=True)


def harmonized_experiments(joined: pd.DataFrame) -> pd.DataFrame:
    """Distinct (filepath, sequencing_experiment_id, experiment_strategy): the SE links to make."""
    columns = ["filepath", "sequencing_experiment_id", "experiment_strategy"]
    linked = joined.loc[joined["sequencing_experiment_id"].notna(), columns]
    return linked.drop_duplicates(["filepath", "sequencing_experiment_id"]).reset_index(drop=True)


def harmonized_biospecimens(manifest: pd.DataFrame) -> pd.DataFrame:
    """Distinct (filepath, biospecimen_id): the BS links to make, straight from the manifest."""
    linked = manifest.loc[manifest["biospecimen_id"].notna(), ["filepath", "biospecimen_id"]]
    return linked.drop_duplicates().reset_index(drop=True)


def logical_issues(
    manifest: pd.DataFrame,
    joined: pd.DataFrame,
    study_biospecimens: pd.DataFrame,
    sources: pd.DataFrame,
) -> pd.DataFrame:
    """Rows that are well-formed but contradict the DataService (issues DataFrame).

    These are the mistakes that would load silently wrong links: an ID from the
    wrong study or participant, a source read that is not a source, outputs that
    mix experiment strategies.
    """
    study_biospecimens = with_columns(study_biospecimens, ["kf_id", "participant_id"])
    sources = with_columns(sources, SOURCE_COLUMNS)
    issues = [
        _unknown_biospecimens(manifest, study_biospecimens),
        _participant_mismatches(manifest, study_biospecimens),
        _unknown_source_reads(manifest, sources),
        _source_reads_of_other_samples(manifest, sources, study_biospecimens),
        _outputs_that_are_sources(manifest, sources),
        _biospecimens_without_sources(joined),
        _fallback_matches(joined),
        _files_without_experiment(joined),
        _mixed_strategies(joined),
    ]
    issues = [frame for frame in issues if not frame.empty]
    if not issues:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return pd.concat(issues, ignore_index=True).drop_duplicates(["check", "row", "column", "value"])


def _unknown_biospecimens(manifest: pd.DataFrame, study_biospecimens: pd.DataFrame) -> pd.DataFrame:
    present = manifest[manifest["biospecimen_id"].notna()]
    unknown = present[~present["biospecimen_id"].isin(study_biospecimens["kf_id"])]
    return issue_rows(
        unknown,
        check="biospecimen_not_in_study",
        column="biospecimen_id",
        expected="a biospecimen of this study in the DataService",
        suggestion="Fix the KF Biospecimen ID (typo, or a biospecimen of another study) "
        "or load the biospecimen first.",
    )


def _participant_mismatches(manifest: pd.DataFrame, study_biospecimens: pd.DataFrame) -> pd.DataFrame:
    known = manifest.merge(
        study_biospecimens.rename(columns={"kf_id": "biospecimen_id", "participant_id": "expected"}),
        on="biospecimen_id",
    )
    mismatched = known[
        known["participant_id"].notna()
        & known["expected"].notna()
        & (known["participant_id"] != known["expected"])
    ]
    return issue_rows(
        mismatched,
        check="biospecimen_participant_mismatch",
        column="participant_id",
        expected=mismatched["expected"],
        suggestion="The biospecimen belongs to the expected participant in the DataService: "
        "fix the KF Participant ID or the KF Biospecimen ID of this row.",
    )


def _unknown_source_reads(manifest: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    with_read = manifest[_present(manifest["source_read"])]
    unknown = with_read[~with_read["source_read"].isin(sources["source_external_id"])]
    return issue_rows(
        unknown,
        check="source_read_not_in_study",
        column="source_read",
        expected="the external_id of a visible unharmonized genomic file of this study",
        suggestion="Use the exact s3:// path (external_id) of the unharmonized file this output "
        "was made from.",
    )


def _source_reads_of_other_samples(
    manifest: pd.DataFrame, sources: pd.DataFrame, study_biospecimens: pd.DataFrame
) -> pd.DataFrame:
    """File rows whose Source Read is a file of another sample.

    The output would be linked to that sample's experiment and inherit its
    access. A row (all biospecimens of its cell, e.g. a somatic 'TUMOR,NORMAL')
    is right when the read's biospecimens include one of them and the read's
    participant is the row's.
    """
    reads = _row_samples(manifest[_present(manifest["source_read"])])
    owners = _source_samples(sources, study_biospecimens)
    known = reads.merge(owners, on="source_read")
    same_sample = [bool(biospecimens & read_biospecimens) and participant in read_participants
                   for biospecimens, participant, read_biospecimens, read_participants in zip(
                       known["biospecimens"], known["participant_id"],
                       known["read_biospecimens"], known["read_participants"])]
    wrong = known[~pd.Series(same_sample, index=known.index, dtype=bool)]
    described = [
        f"a file of the row's {_listed(biospecimens)} / {participant}; it is a file of "
        f"{_listed(read_biospecimens)} / {_listed(read_participants)}"
        for biospecimens, participant, read_biospecimens, read_participants in zip(
            wrong["biospecimens"], wrong["participant_id"],
            wrong["read_biospecimens"], wrong["read_participants"])
    ]
    return issue_rows(
        wrong,
        check="source_read_of_another_sample",
        column="source_read",
        expected=pd.Series(described, index=wrong.index, dtype=object),
        suggestion="Fix the Source Read (the file this row's biospecimen was sequenced into) or the "
        "row's KF Biospecimen ID / KF Participant ID: the output would be linked to the other "
        "sample's sequencing experiment and get its access.",
    )


def _row_samples(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (file row, Source Read): the set of the row's biospecimens and its participant."""
    return (
        rows.groupby(["row", "source_read"], sort=True)
        .agg(biospecimens=("biospecimen_id", lambda ids: frozenset(ids.dropna())),
             participant_id=("participant_id", "first"))
        .reset_index()
    )


def _source_samples(sources: pd.DataFrame, study_biospecimens: pd.DataFrame) -> pd.DataFrame:
    """Per source external_id: the sets of its biospecimens and of their participants."""
    owners = sources[["source_external_id", "biospecimen_id"]].drop_duplicates().merge(
        study_biospecimens.rename(columns={"kf_id": "biospecimen_id"}), how="left", on="biospecimen_id"
    )
    return (
        owners.groupby("source_external_id")
        .agg(read_biospecimens=("biospecimen_id", lambda ids: frozenset(ids.dropna())),
             read_participants=("participant_id", lambda ids: frozenset(ids.dropna())))
        .reset_index()
        .rename(columns={"source_external_id": "source_read"})
    )


def _listed(values: frozenset) -> str:
    return ", ".join(sorted(values)) or "none"


def _outputs_that_are_sources(manifest: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    clashing = manifest[manifest["filepath"].isin(sources["source_external_id"])]
    return issue_rows(
        clashing,
        check="filepath_is_source_file",
        column="filepath",
        expected="a harmonized output, not an unharmonized file of this study",
        suggestion="Filepath must be the workflow's output; the input belongs in Source Read.",
    )


def _biospecimens_without_sources(joined: pd.DataFrame) -> pd.DataFrame:
    lost = joined[~_present(joined["source_read"]) & (joined["match"] == "unmatched")]
    return issue_rows(
        lost,
        check="no_source_for_biospecimen",
        column="biospecimen_id",
        expected="a biospecimen linked to a visible unharmonized genomic file of this study",
        suggestion="Fill in Source Read with the s3:// path of the file this output was made from.",
    )


def _fallback_matches(joined: pd.DataFrame) -> pd.DataFrame:
    fallback = joined[joined["match"] == "biospecimen_fallback"]
    return issue_rows(
        fallback,
        check="matched_by_biospecimen_only",
        column="source_read",
        expected="a Source Read",
        suggestion="Fill in Source Read: without it the file is linked to every experiment of the "
        "biospecimen, which is only right when the biospecimen has a single experiment.",
        severity="warning",
        value=fallback["biospecimen_id"],
    )


def _files_without_experiment(joined: pd.DataFrame) -> pd.DataFrame:
    has_experiment = joined.groupby("filepath")["sequencing_experiment_id"].transform("count") > 0
    orphans = _first_row_per_file(joined[~has_experiment])
    return issue_rows(
        orphans,
        check="no_sequencing_experiment",
        column="filepath",
        expected="at least one source file linked to a visible sequencing experiment",
        suggestion="Check the Source Read(s) of this file: their genomic files need a sequencing "
        "experiment link in the DataService.",
    )


def _mixed_strategies(joined: pd.DataFrame) -> pd.DataFrame:
    strategies = joined[joined["experiment_strategy"].notna()].drop_duplicates(
        ["filepath", "experiment_strategy"]
    )
    mixed = strategies[strategies.groupby("filepath")["experiment_strategy"].transform("size") > 1]
    listed = (
        mixed.sort_values("experiment_strategy")
        .groupby("filepath")
        .agg(row=("row", "min"), value=("experiment_strategy", ", ".join))
        .reset_index()
    )
    return issue_rows(
        listed,
        check="mixed_experiment_strategies",
        column="source_read",
        expected="source reads whose experiments share one strategy",
        suggestion="A workflow output comes from one kind of sequencing: fix the Source Read(s) "
        "(or fill them in where the biospecimen fallback picked up every experiment).",
        value=listed["value"],
    )


def _first_row_per_file(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("row", kind="stable").drop_duplicates("filepath")


def issue_rows(
    rows: pd.DataFrame,
    *,
    check: str,
    column: str,
    expected: str | pd.Series,
    suggestion: str,
    severity: str = "error",
    value: pd.Series | None = None,
) -> pd.DataFrame:
    """One issue per row of ``rows`` in the issues shape; ``value`` defaults to the ``column`` cell."""
    return pd.DataFrame(
        {
            "check": check,
            "row": rows["row"],
            "column": HEADERS.get(column, column),
            "value": rows[column] if value is None else value,
            "expected": expected,
            "suggestion": suggestion,
            "severity": severity,
        },
        columns=ISSUE_COLUMNS,
    )


def with_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame[columns]``, a missing column added as all-None ``object``.

    DataService tables of an empty study arrive with no columns at all; pandas
    refuses to merge an empty float column (what ``reindex`` adds) with an
    empty string one, so added columns must be ``object``.
    """
    missing = [column for column in columns if column not in frame.columns]
    return frame.reindex(columns=columns).astype(dict.fromkeys(missing, object))


def _visible(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = with_columns(frame, columns + ["visible"])
    return frame.loc[_flag(frame["visible"], default=True), columns].drop_duplicates()


def _flag(values: pd.Series, *, default: bool) -> pd.Series:
    """A boolean column where a missing value means ``default``."""
    return values.astype("boolean").fillna(default).astype(bool)


def _present(values: pd.Series) -> pd.Series:
    """True where a cell holds a non-blank value."""
    return values.notna() & values.astype("string").str.strip().ne("").fillna(False)

"""Which DataService genomic files a load may reuse, and which it must never touch.

``external_id`` is not unique in the DataService and a file without a
biospecimen link is invisible to ``?study_id=`` reads, so every manifest file the
study read did not return is looked up by ``external_id``. What comes back is
reused only when it is this study's or nobody's:

- ``none``: no biospecimen link (left by another loader or an interrupted run):
  reused, PATCHed where it differs, linked;
- ``this_study``: linked only to this study's biospecimens: reused;
- ``other_study``: linked to another study's biospecimen: never touched; the
  same S3 object registered in two studies is a logical error.

An external_id with two or more records is reported and never added to: no
third record, no PATCH, no link, whichever of them a run would pick.

``claimed``: the Filepath is claimed by a live run of another study sharing this
Dagster instance (``resources/object_claims.py``), which may be between its POST
and its biospecimen link (so its record still looks like nobody's), or not have
POSTed yet: never touched either, whatever the record looks like now.
"""

import pandas as pd

from gwo_assets.core.joins import ISSUE_COLUMNS, issue_rows, with_columns

OWNER_NONE, OWNER_THIS_STUDY, OWNER_OTHER_STUDY = "none", "this_study", "other_study"
OWNER_CLAIMED = "claimed"
EXISTING_COLUMNS = ["kf_id", "external_id", "created_at", "found_by", "biospecimen_ids",
                    "owner", "owner_study_ids", "claim_study_id", "claim_run_id"]
CLAIM_COLUMNS = ["filepath", "claim_study_id", "claim_run_id", "claim_since"]


def owner_of(biospecimen_ids: list[str], study_biospecimens: set[str]) -> str:
    """``none`` / ``this_study`` / ``other_study`` from a file's biospecimen links."""
    if not biospecimen_ids:
        return OWNER_NONE
    return OWNER_THIS_STUDY if set(biospecimen_ids) <= study_biospecimens else OWNER_OTHER_STUDY


def foreign_biospecimens(biospecimen_ids: list[str], study_biospecimens: set[str]) -> list[str]:
    """The biospecimens of a file that are not this study's, sorted."""
    return sorted(set(biospecimen_ids) - study_biospecimens)


def reusable(existing: pd.DataFrame) -> pd.DataFrame:
    """The records a plan may reuse: not another study's, and alone with their external_id."""
    existing = with_columns(existing, EXISTING_COLUMNS) if existing.empty else existing
    duplicated = set(duplicated_external_ids(existing))
    return existing[~existing["owner"].isin([OWNER_OTHER_STUDY, OWNER_CLAIMED])
                    & ~existing["external_id"].isin(duplicated)]


def mark_claimed(existing: pd.DataFrame, conflicts: pd.DataFrame) -> pd.DataFrame:
    """``existing`` with every record of a Filepath another study's live run claimed (columns
    ``CLAIM_COLUMNS``) owned ``claimed``, naming the claim; a claimed Filepath with no record
    yet gets one row without a kf_id (``found_by`` ``claim``), so the check reports it too."""
    existing = existing.copy()
    for column in EXISTING_COLUMNS:  # every record field kept: the plan compares them
        if column not in existing.columns:
            existing[column] = pd.Series([None] * len(existing), index=existing.index,
                                         dtype=object)
    if conflicts.empty:
        return existing
    claims = conflicts.drop_duplicates("filepath").set_index("filepath")
    marked = existing.copy()
    hit = marked["external_id"].isin(claims.index)
    marked.loc[hit, "owner"] = OWNER_CLAIMED
    for column in ("claim_study_id", "claim_run_id"):
        marked.loc[hit, column] = marked.loc[hit, "external_id"].map(claims[column])
    unregistered = claims[~claims.index.isin(set(existing["external_id"]))]
    if unregistered.empty:
        return marked
    placeholders = pd.DataFrame({
        "kf_id": None, "external_id": unregistered.index, "created_at": None,
        "found_by": "claim", "biospecimen_ids": [[] for _ in range(len(unregistered))],
        "owner": OWNER_CLAIMED, "owner_study_ids": [[] for _ in range(len(unregistered))],
        "claim_study_id": unregistered["claim_study_id"].to_numpy(),
        "claim_run_id": unregistered["claim_run_id"].to_numpy()}, dtype=object)
    return pd.concat([marked, placeholders], ignore_index=True)


def duplicated_external_ids(existing: pd.DataFrame) -> dict[str, list[str]]:
    """external_id -> its kf_ids (oldest first), for external_ids held by two or more records."""
    existing = existing[existing["kf_id"].notna()] if "kf_id" in existing else existing
    if existing.empty:
        return {}
    ordered = existing.sort_values(["created_at", "kf_id"], na_position="last", kind="stable")
    counts = ordered["external_id"].value_counts()
    shared = ordered[ordered["external_id"].isin(counts[counts > 1].index)]
    return {external_id: group["kf_id"].tolist()
            for external_id, group in shared.groupby("external_id", sort=True)}


def existing_file_issues(manifest: pd.DataFrame, existing: pd.DataFrame,
                         study_id: str) -> pd.DataFrame:
    """Blocking issues: files registered in another study, external_ids held twice or more.

    ``existing`` has ``EXISTING_COLUMNS``; ``owner_study_ids`` lists the other
    studies of an ``other_study`` record (empty when they could not be named).
    """
    existing = with_columns(existing, EXISTING_COLUMNS) if existing.empty else existing
    first_rows = manifest.sort_values("row", kind="stable").drop_duplicates("filepath")
    issues = [_claimed_issues(first_rows, existing, study_id),
              _other_study_issues(first_rows, existing, study_id),
              _duplicate_issues(first_rows, existing)]
    issues = [frame for frame in issues if not frame.empty]
    return pd.concat(issues, ignore_index=True) if issues else pd.DataFrame(columns=ISSUE_COLUMNS)


def _claimed_issues(first_rows: pd.DataFrame, existing: pd.DataFrame,
                    study_id: str) -> pd.DataFrame:
    claimed = existing[existing["owner"] == OWNER_CLAIMED]
    if claimed.empty:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    records = claimed.groupby("external_id", sort=True).agg(
        kf_ids=("kf_id", lambda ids: sorted(set(ids.dropna()))),
        claim_study_id=("claim_study_id", "first"), claim_run_id=("claim_run_id", "first"))
    rows = first_rows.merge(records, left_on="filepath", right_index=True)
    if rows.empty:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return issue_rows(
        rows, check="file_claimed_by_another_run", column="filepath",
        expected=f"an S3 object no other study is loading at the same time as {study_id}",
        suggestion=pd.Series([
            f"{other}'s run {run} is loading this S3 object now (it claimed it first; "
            + (f"DataService genomic file {', '.join(kf_ids)} already holds it" if kf_ids else
               "not registered in the DataService yet")
            + f"); one S3 object cannot be registered in two studies: this run writes nothing "
            f"for it; fix the Filepath, or take the file out of {other} after that run ended"
            for other, run, kf_ids in zip(rows["claim_study_id"], rows["claim_run_id"],
                                         rows["kf_ids"])
        ], index=rows.index, dtype=object))


def _other_study_issues(first_rows: pd.DataFrame, existing: pd.DataFrame,
                        study_id: str) -> pd.DataFrame:
    foreign = existing[existing["owner"] == OWNER_OTHER_STUDY]
    foreign = foreign[~foreign["external_id"].isin(
        set(existing.loc[existing["owner"] == OWNER_CLAIMED, "external_id"]))]
    if foreign.empty:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    rows = first_rows.merge(foreign, left_on="filepath", right_on="external_id")
    where = [_studies(ids) for ids in rows["owner_study_ids"]]
    return issue_rows(
        rows, check="file_of_another_study", column="filepath",
        expected=f"an S3 object registered in no study but {study_id}",
        suggestion=pd.Series([
            f"{kf_id} (this external_id) is {studies}'s: linked to biospecimen(s) "
            f"{', '.join(biospecimens)}; one S3 object cannot be registered in two studies: "
            f"fix the Filepath, or take the file out of {studies} first "
            "(the file of the other study is never touched)"
            for kf_id, studies, biospecimens in zip(rows["kf_id"], where, rows["biospecimen_ids"])
        ], index=rows.index, dtype=object))


def _duplicate_issues(first_rows: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
    duplicated = duplicated_external_ids(existing)
    rows = first_rows[first_rows["filepath"].isin(set(duplicated))]
    if rows.empty:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return issue_rows(
        rows, check="file_registered_twice", column="filepath",
        expected="at most one DataService genomic file per Filepath",
        suggestion=pd.Series([
            f"{', '.join(duplicated[fp])} (oldest first) all hold this external_id in the "
            "DataService; none is touched: keep one and delete the others (undo_gwo with the "
            "report of the run that created them), then rerun"
            for fp in rows["filepath"]], index=rows.index, dtype=object))


def _studies(study_ids: object) -> str:
    ids = [str(study) for study in (study_ids if isinstance(study_ids, (list, tuple)) else [])]
    return " and ".join(sorted(ids)) if ids else "another study"

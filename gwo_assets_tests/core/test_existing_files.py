"""Which existing DataService files a load may reuse (pure rules, no DataService)."""

import pandas as pd

from gwo_assets.core.existing_files import (CLAIM_COLUMNS, OWNER_CLAIMED, OWNER_NONE,
                                            OWNER_OTHER_STUDY, OWNER_THIS_STUDY,
                                            duplicated_external_ids, existing_file_issues,
                                            mark_claimed, owner_of, reusable)
from gwo_assets.core.reconcile import TABLES, Expected, reconcile

OURS = {"BS_AAAAAAAA", "BS_BBBBBBBB"}


def record(kf_id: str, external_id: str, owner: str, created: str = "2026-01-01",
           biospecimens=(), studies=()) -> dict:
    return {"kf_id": kf_id, "external_id": external_id, "created_at": created,
            "found_by": "external_id", "biospecimen_ids": list(biospecimens), "owner": owner,
            "owner_study_ids": list(studies)}


def manifest(*filepaths: str) -> pd.DataFrame:
    return pd.DataFrame({"row": range(2, 2 + len(filepaths)), "filepath": list(filepaths)})


def test_owner_from_biospecimen_links():
    assert owner_of([], OURS) == OWNER_NONE
    assert owner_of(["BS_AAAAAAAA"], OURS) == OWNER_THIS_STUDY
    assert owner_of(["BS_AAAAAAAA", "BS_ZZZZZZZZ"], OURS) == OWNER_OTHER_STUDY


def test_another_studys_file_and_a_twice_held_filepath_are_blocking_and_never_reused():
    existing = pd.DataFrame([
        record("GF_OTHER001", "s3://b/a.cram", OWNER_OTHER_STUDY, biospecimens=["BS_ZZZZZZZZ"],
               studies=["SD_ZZZZZZZZ"]),
        record("GF_TWIN0002", "s3://b/b.cram", OWNER_NONE, created="2026-02-01"),
        record("GF_TWIN0001", "s3://b/b.cram", OWNER_NONE, created="2026-01-01"),
        record("GF_FREE0001", "s3://b/c.cram", OWNER_NONE),
    ])
    issues = existing_file_issues(manifest("s3://b/a.cram", "s3://b/b.cram", "s3://b/c.cram"),
                                  existing, "SD_AAAAAAAA")
    assert list(issues["check"]) == ["file_of_another_study", "file_registered_twice"]
    assert list(issues["row"]) == [2, 3] and set(issues["severity"]) == {"error"}
    other, twice = issues["suggestion"]
    assert "GF_OTHER001" in other and "SD_ZZZZZZZZ" in other and "BS_ZZZZZZZZ" in other
    assert twice.startswith("GF_TWIN0001, GF_TWIN0002")  # ids first, oldest first
    assert duplicated_external_ids(existing) == {"s3://b/b.cram": ["GF_TWIN0001", "GF_TWIN0002"]}
    assert list(reusable(existing)["kf_id"]) == ["GF_FREE0001"]


def test_a_filepath_another_studys_live_run_claimed_is_blocking_whatever_its_record_says():
    """The claimant may be between its POST and its link (its record looks like nobody's) or
    not have POSTed yet (no record): either way the other run never touches the object."""
    existing = pd.DataFrame([
        record("GF_FRESH001", "s3://b/a.cram", OWNER_NONE),  # B's POST, not linked yet
        record("GF_MINE0001", "s3://b/c.cram", OWNER_THIS_STUDY, biospecimens=["BS_AAAAAAAA"]),
    ])
    claims = pd.DataFrame([("s3://b/a.cram", "SD_BBBBBBBB", "run-b", "t"),
                           ("s3://b/b.cram", "SD_BBBBBBBB", "run-b", "t")], columns=CLAIM_COLUMNS)
    marked = mark_claimed(existing, claims)
    assert dict(zip(marked["external_id"], marked["owner"])) == {
        "s3://b/a.cram": OWNER_CLAIMED, "s3://b/b.cram": OWNER_CLAIMED,
        "s3://b/c.cram": OWNER_THIS_STUDY}
    assert list(reusable(marked)["kf_id"]) == ["GF_MINE0001"]
    assert duplicated_external_ids(marked) == {}  # the placeholder of b.cram is no record

    issues = existing_file_issues(manifest("s3://b/a.cram", "s3://b/b.cram", "s3://b/c.cram"),
                                  marked, "SD_AAAAAAAA")
    assert list(issues["check"]) == ["file_claimed_by_another_run"] * 2
    assert list(issues["row"]) == [2, 3] and set(issues["severity"]) == {"error"}
    registered, unregistered = issues["suggestion"]
    assert "SD_BBBBBBBB" in registered and "run-b" in registered and "GF_FRESH001" in registered
    assert "not registered in the DataService yet" in unregistered

    untouched = mark_claimed(existing.assign(size=[1, 2]), pd.DataFrame(columns=CLAIM_COLUMNS))
    assert untouched["owner"].tolist() == [OWNER_NONE, OWNER_THIS_STUDY]
    assert untouched["size"].tolist() == [1, 2]  # record fields kept: the plan compares them


def test_a_claimed_file_of_another_study_is_reported_once():
    existing = pd.DataFrame([record("GF_OTHER001", "s3://b/a.cram", OWNER_OTHER_STUDY,
                                    biospecimens=["BS_ZZZZZZZZ"], studies=["SD_BBBBBBBB"])])
    claims = pd.DataFrame([("s3://b/a.cram", "SD_BBBBBBBB", "run-b", "t")], columns=CLAIM_COLUMNS)
    issues = existing_file_issues(manifest("s3://b/a.cram"), mark_claimed(existing, claims),
                                  "SD_AAAAAAAA")
    assert list(issues["check"]) == ["file_claimed_by_another_run"]


def test_the_read_back_names_duplicates_and_the_run_that_made_them_without_promising_a_rerun():
    after_files = pd.DataFrame([
        {"kf_id": "GF_OLD00001", "external_id": "s3://b/a.cram", "modified_at": "t0"},
        {"kf_id": "GF_NEW00001", "external_id": "s3://b/a.cram", "modified_at": "t1"}])
    empty_links = pd.DataFrame(columns=["kf_id", "genomic_file_id", "biospecimen_id",
                                        "sequencing_experiment_id", "modified_at"])
    before = {"genomic_files": after_files.iloc[:1], "biospecimen_genomic_files": empty_links,
              "sequencing_experiment_genomic_files": empty_links}
    after = {**before, "genomic_files": after_files}
    expected = Expected(files={"s3://b/a.cram": {}}, links={t: set() for t in TABLES[1:]},
                        written={"genomic_files": {"GF_NEW00001"},
                                 "biospecimen_genomic_files": set(),
                                 "sequencing_experiment_genomic_files": set()},
                        run_id="run-123")
    issues = reconcile(before, after, expected)
    [duplicate] = issues.loc[issues["check"] == "genomic_files:file_count", "suggestion"]
    assert "GF_OLD00001" in duplicate and "GF_NEW00001" in duplicate
    assert "undo_gwo" in duplicate and "run-123" in duplicate
    assert "a rerun does not fix duplicates" in duplicate and "converges" not in duplicate

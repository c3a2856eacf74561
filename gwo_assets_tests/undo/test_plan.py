"""undo's pure rules: which reports are refused, and when a stored record must be left alone."""

import json

import pytest

from gwo_assets.undo.plan import (
    BS_LINKS,
    GENOMIC_FILES,
    PLANNED,
    SE_LINKS,
    Deletion,
    Restoration,
    UndoAction,
    UndoRefused,
    check_deletion,
    check_restoration,
    foreign_links,
    keep_files_with_failed_links,
    keep_links_of_kept_files,
    orphaned_experiments,
    plan_undo,
    summarize,
)
from gwo_assets_tests.undo.support import run_undo

GF, GF2, BS, SE = "GF_AAAAAAAA", "GF_BBBBBBBB", "BS_AAAAAAAA", "SE_AAAAAAAA"
BG, SG = "BG_AAAAAAAA", "SG_AAAAAAAA"
PATH = "s3://bucket/a.cram"
# The POST body the run sent for GF (as the load results record it).
BODY = {"external_id": PATH, "urls": [PATH], "size": 5, "hashes": {"md5": "c" * 32},
        "controlled_access": True, "authz": ["/programs/SD_AAAAAAAA", "/programs/phs1.c1"],
        "acl": [], "visible": True}


def report(**changes) -> dict:
    base = {"run_id": "r1", "study_id": "SD_AAAAAAAA", "dry_run": False, "status": "success",
            "inputs": {"dataservice_url": "http://ds"},
            "kf_ids": {GENOMIC_FILES: {"created": [GF], "updated": [
                           {"kf_id": GF2, "previous": {"size": 1, "hashes": {"md5": "a" * 32}}}]},
                       BS_LINKS: {"created": [BG], "updated": []},
                       SE_LINKS: {"created": [SG], "updated": []}}}
    return base | changes


def results() -> dict:
    return {
        GENOMIC_FILES: [{"kf_id": GF, "action": "create", "status": "done", "external_id": PATH,
                         "payload": BODY},
                        {"kf_id": GF2, "action": "update", "status": "done", "external_id": "x",
                         "payload": {"size": 2, "hashes": {"md5": "b" * 32}}}],
        BS_LINKS: [{"kf_id": BG, "action": "create", "status": "done", "genomic_file_id": GF,
                    "biospecimen_id": BS}],
        SE_LINKS: [{"kf_id": SG, "action": "create", "status": "done", "genomic_file_id": GF,
                    "sequencing_experiment_id": SE}]}


def test_a_real_report_gives_deletions_with_identities_and_restorations():
    plan = plan_undo(report(), results())
    assert plan.study_id == "SD_AAAAAAAA"
    assert plan.deletions_of(SE_LINKS) == [
        Deletion(SE_LINKS, SG, {"genomic_file_id": GF, "sequencing_experiment_id": SE})]
    assert plan.deletions_of(BS_LINKS) == [
        Deletion(BS_LINKS, BG, {"genomic_file_id": GF, "biospecimen_id": BS})]
    assert plan.deletions_of(GENOMIC_FILES) == [Deletion(GENOMIC_FILES, GF, BODY)]
    assert plan.restorations == (Restoration(GF2, {"size": 2, "hashes": {"md5": "b" * 32}},
                                             {"size": 1, "hashes": {"md5": "a" * 32}}, "x"),)


def test_a_failed_runs_report_is_undone_too():
    assert len(plan_undo(report(status="failed", stopped_at="x"), results()).deletions) == 3


@pytest.mark.parametrize("changes, results_change, message", [
    ({"dry_run": True}, {}, "dry run"),
    ({"study_id": "SD_123"}, {}, "not a study kf_id"),
    ({"kf_ids": None}, {}, "no kf_ids"),
    ({}, {SE_LINKS: None}, "jsonl is missing"),
    ({}, {GENOMIC_FILES: []}, "do not record that creation"),
])
def test_unsafe_reports_are_refused(changes, results_change, message):
    with pytest.raises(UndoRefused, match=message):
        plan_undo(report(**changes), results() | results_change)


@pytest.mark.parametrize("bad", ["GF_../../x", "BG_AAAAAAAA", "gf_aaaaaaaa", None, "GF_AAAAAAAI"])
def test_every_kf_id_is_format_checked_before_use(bad):
    damaged = report()
    damaged["kf_ids"][GENOMIC_FILES]["created"] = [bad]
    with pytest.raises(UndoRefused, match="is not a GF kf_id"):
        plan_undo(damaged, results())
    linked = results()
    linked[SE_LINKS][0]["sequencing_experiment_id"] = bad
    with pytest.raises(UndoRefused, match="is not a SE kf_id"):
        plan_undo(report(), linked)


def test_a_record_is_deleted_only_while_it_is_what_the_run_created():
    link = Deletion(BS_LINKS, BG, {"genomic_file_id": GF, "biospecimen_id": BS})
    assert check_deletion(link, {"kf_id": BG, "genomic_file_id": GF, "biospecimen_id": BS}) == ""
    assert check_deletion(link, None) == "already gone"
    moved = check_deletion(link, {"genomic_file_id": GF, "biospecimen_id": "BS_BBBBBBBB"})
    assert moved == f"changed since the run (biospecimen_id {BS} -> BS_BBBBBBBB)"


def test_a_created_file_is_deleted_only_while_every_field_the_run_wrote_is_unchanged():
    """Curated or PATCHed since the run (acl, authz, hashes, ...): skipped, and the reason says
    which field. Order-free fields and fields the run did not write do not count."""
    [deletion] = plan_undo(report(), results()).deletions_of(GENOMIC_FILES)
    left = {**BODY, "kf_id": GF, "authz": BODY["authz"][::-1], "latest_did": "x"}
    assert check_deletion(deletion, left) == ""
    for field, curated in (("acl", ["/programs/phs1.c1"]), ("authz", ["/open"]),
                           ("hashes", {"md5": "c" * 32, "sha256": "e" * 64}), ("visible", False)):
        reason = check_deletion(deletion, {**left, field: curated})
        assert reason.startswith(f"changed since the run ({field} "), reason


def test_modified_at_is_compared_when_the_results_keep_it():
    kept = results()
    kept[SE_LINKS][0]["modified_at"] = "2026-11-26T03:00:00.000001+00:00"
    [deletion] = plan_undo(report(), kept).deletions_of(SE_LINKS)
    left = {"genomic_file_id": GF, "sequencing_experiment_id": SE,
            "modified_at": "2026-11-26T03:00:00.000001+00:00"}
    assert check_deletion(deletion, left) == ""
    assert "modified_at" in check_deletion(deletion, {**left, "modified_at": "2026-11-27"})


def test_restored_values_keep_their_types():
    """A size a float column turned into 1.0 is PATCHed back as the integer 1."""
    floats = report()
    floats["kf_ids"][GENOMIC_FILES]["updated"][0]["previous"]["size"] = 1.0
    [restoration] = plan_undo(floats, results()).restorations
    assert restoration.previous["size"] == 1 and type(restoration.previous["size"]) is int


def test_an_update_is_restored_only_while_the_file_holds_what_the_run_wrote():
    update = Restoration(GF2, {"size": 2, "authz": ["/a", "/b"]}, {"size": 1, "authz": ["/a"]})
    assert check_restoration(update, {"size": 2, "authz": ["/b", "/a"]}) == ""
    assert check_restoration(update, {"size": 1, "authz": ["/a"]}) == "already has the previous values"
    assert check_restoration(update, {"size": 3, "authz": ["/a", "/b"]}) == \
        "changed since the run (size)"
    assert check_restoration(update, None) == "already gone"


def test_an_experiment_never_loses_its_last_link():
    links = {SE: {SG, "SG_BBBBBBBB"}, "SE_BBBBBBBB": {"SG_CCCCCCCC"}}
    assert orphaned_experiments({SG: SE}, links) == set()
    assert orphaned_experiments({SG: SE, "SG_BBBBBBBB": SE}, links) == {SE}
    assert orphaned_experiments({"SG_CCCCCCCC": "SE_BBBBBBBB"}, links) == {"SE_BBBBBBBB"}


def test_a_file_stays_with_its_links_when_either_cannot_go():
    assert foreign_links([BG, "BG_BBBBBBBB"], {BG}) == ["BG_BBBBBBBB"]
    files = [UndoAction(GENOMIC_FILES, GF, "delete", PLANNED).skip("has links")]
    link = UndoAction(BS_LINKS, BG, "delete", PLANNED, details={"genomic_file_id": GF})
    [kept] = keep_links_of_kept_files([link], files)
    assert kept.status == "skipped" and GF in kept.reason
    failed = UndoAction(BS_LINKS, BG, "delete", "failed", details={"genomic_file_id": GF})
    [file] = keep_files_with_failed_links([UndoAction(GENOMIC_FILES, GF, "delete", PLANNED)],
                                          [failed])
    assert file.status == "skipped" and BG in file.reason


def test_counts_are_planned_in_a_dry_run_and_done_in_a_real_run():
    actions = [UndoAction(SE_LINKS, SG, "delete", PLANNED),
               UndoAction(GENOMIC_FILES, GF2, "restore", "done"),
               UndoAction(GENOMIC_FILES, GF, "delete", "failed")]
    assert summarize(actions, dry_run=True)[SE_LINKS]["deleted"] == 1
    assert summarize(actions, dry_run=True)[GENOMIC_FILES] == \
        {"deleted": 0, "restored": 0, "skipped": 0, "failed": 1}
    assert summarize(actions, dry_run=False)[GENOMIC_FILES]["restored"] == 1


@pytest.mark.parametrize("changes, message", [
    ({"dry_run": True}, "was a dry run"),
    ({"inputs": {"dataservice_url": "http://elsewhere:5000"}}, "points at http://127.0.0.1:9"),
])
def test_the_job_refuses_before_any_request(tmp_path, changes, message):
    """Nothing listens on port 9: a request would fail differently than the refusal."""
    folder = tmp_path / "r1"
    folder.mkdir()
    for step, rows in results().items():
        (folder / f"{step}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "report.json").write_text(json.dumps(
        report(inputs={"dataservice_url": "http://127.0.0.1:9"}) | changes))
    result = run_undo("http://127.0.0.1:9", folder / "report.json", dry_run=False)
    assert not result.success
    assert message in result.failure_data_for_node("undo_ingest").user_failure_data.description
    assert not list(folder.glob("undo-*"))


def test_link_less_experiments_are_kept_whole_for_a_post_under_their_own_kf_id():
    from gwo_assets.undo.plan import can_sweep, link_less_experiments
    listed = [{"kf_id": "SE_BBBBBBBB", "external_id": "e", "sequencing_center_id": "SC_AAAAAAAA",
               "library_name": None, "visible": False, "created_at": "t0", "modified_at": "t1",
               SE_LINKS: []},
              {"kf_id": SE, "external_id": "linked", SE_LINKS: [SG]}]
    [action] = link_less_experiments(listed)
    assert (action.kf_id, action.operation, action.status) == ("SE_BBBBBBBB", "recreate", PLANNED)
    assert action.details["body"] == {"kf_id": "SE_BBBBBBBB", "external_id": "e",
                                      "sequencing_center_id": "SC_AAAAAAAA",
                                      "library_name": None, "visible": False}
    with pytest.raises(UndoRefused, match="cannot address"):
        link_less_experiments([{"kf_id": "SE_../x", SE_LINKS: []}])
    # BS-link deletes never sweep; SE-link and genomic-file deletes can.
    assert not can_sweep([UndoAction(BS_LINKS, BG, "delete", PLANNED)])
    assert not can_sweep([UndoAction(SE_LINKS, SG, "delete", "skipped")])
    assert can_sweep([UndoAction(SE_LINKS, SG, "delete", PLANNED)])
    assert can_sweep([UndoAction(GENOMIC_FILES, GF, "delete", PLANNED)])

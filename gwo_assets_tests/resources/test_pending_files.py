"""The pending-files journal: recorded before POSTs, on disk, settled once linked."""

from gwo_assets.resources import pending_files

STUDY = "SD_ABCDEFGH"


def test_an_empty_journal_lists_nothing(tmp_path):
    assert pending_files.pending(tmp_path, STUDY) == set()
    assert pending_files.settle(tmp_path, STUDY, ["s3://b/a"]) == 0


def test_recorded_ids_are_pending_until_settled(tmp_path):
    assert pending_files.record(tmp_path, STUDY, "run-1", ["s3://b/a", "s3://b/b", "s3://b/a"]) == 2
    pending_files.record(tmp_path, STUDY, "run-2", ["s3://b/c"])
    assert pending_files.pending(tmp_path, STUDY) == {"s3://b/a", "s3://b/b", "s3://b/c"}
    assert pending_files.settle(tmp_path, STUDY, ["s3://b/a", "s3://b/zzz"]) == 2
    assert pending_files.pending(tmp_path, STUDY) == {"s3://b/b", "s3://b/c"}
    assert pending_files.settle(tmp_path, STUDY, ["s3://b/b", "s3://b/c"]) == 0
    assert not pending_files.journal_path(tmp_path, STUDY).exists()


def test_journals_are_per_study(tmp_path):
    pending_files.record(tmp_path, STUDY, "run-1", ["s3://b/a"])
    assert pending_files.pending(tmp_path, "SD_00000000") == set()
    assert pending_files.journal_path(tmp_path, STUDY).name == f"{STUDY}.pending.jsonl"


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path):
    pending_files.record(tmp_path, STUDY, "run-1", ["s3://b/a"])
    with open(pending_files.journal_path(tmp_path, STUDY), "a") as handle:
        handle.write('{"run_id": "run-2", "external_ids": ["s3://b/')
    assert pending_files.pending(tmp_path, STUDY) == {"s3://b/a"}
    pending_files.record(tmp_path, STUDY, "run-3", ["s3://b/c"])
    assert pending_files.pending(tmp_path, STUDY) == {"s3://b/a", "s3://b/c"}


def test_nothing_to_record_writes_no_file(tmp_path):
    assert pending_files.record(tmp_path, STUDY, "run-1", []) == 0
    assert not pending_files.journal_path(tmp_path, STUDY).exists()

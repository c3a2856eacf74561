"""Undo keeps the files it deletes in the pending journal until their DELETE succeeded.

Links are deleted before their files; a file whose DELETE fails is left without
links, invisible to study reads, so the next ingest must look it up by external_id.
"""

from dataclasses import replace

from gwo_assets.resources import pending_files
from gwo_assets.undo.job import UndoConfig, write_journaled
from gwo_assets.undo.plan import (BS_LINKS, DONE, FAILED, GENOMIC_FILES, PLANNED, Deletion,
                                  UndoAction, UndoPlan)

STUDY = "SD_ABCDEFGH"


class FailingOneFile:
    """An Undoer whose DELETE of GF_00000002 fails; it checks the journal mid-write."""

    def __init__(self, lock_dir) -> None:
        self.lock_dir = lock_dir
        self.pending_during_write: set[str] = set()

    def write(self, actions: list[UndoAction]) -> list[UndoAction]:
        self.pending_during_write = pending_files.pending(self.lock_dir, STUDY)
        return [replace(a, status=FAILED if a.kf_id == "GF_00000002" else DONE) for a in actions]


def test_a_file_whose_delete_failed_stays_pending_and_the_deleted_ones_do_not(tmp_path):
    plan = UndoPlan("run-1", STUDY, None, deletions=(
        Deletion(GENOMIC_FILES, "GF_00000001", {"external_id": "s3://b/one.cram"}),
        Deletion(GENOMIC_FILES, "GF_00000002", {"external_id": "s3://b/two.cram"}),
        Deletion(BS_LINKS, "BG_00000001", {"genomic_file_id": "GF_00000001"}),
    ), restorations=())
    actions = [UndoAction(GENOMIC_FILES, "GF_00000001", "delete", PLANNED),
               UndoAction(GENOMIC_FILES, "GF_00000002", "delete", PLANNED),
               UndoAction(BS_LINKS, "BG_00000001", "delete", PLANNED)]
    undoer = FailingOneFile(tmp_path)
    config = UndoConfig(report="unused", dry_run=False, lock_dir=str(tmp_path))
    done = write_journaled(config, plan, actions, undoer, "undo-run")
    assert undoer.pending_during_write == {"s3://b/one.cram", "s3://b/two.cram"}
    assert [a.status for a in done] == [DONE, FAILED, DONE]
    assert pending_files.pending(tmp_path, STUDY) == {"s3://b/two.cram"}

"""Two real runs for one study never write at the same time: the second fails before reading."""

import subprocess
import sys

import pytest

from gwo_assets.resources import study_lock
from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import run_ingest

HOLD = """
import sys, time
from gwo_assets.resources import study_lock
study_lock.acquire(None, sys.argv[1], sys.argv[2], "other-run")
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=3, seed=31, workdir=tmp_path / "sandbox") as running:
        yield running


def hold_lock_in_another_process(lock_dir, study_id) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_dir), study_id],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_real_run_for_the_same_study_fails_without_writing(stack, tmp_path):
    locks = tmp_path / "locks"
    holder = hold_lock_in_another_process(locks, stack.info["study_id"])
    try:
        stack.dataservice.reset_counts()
        result = run_ingest(stack.info, tmp_path / "reports", dry_run=False, lock_dir=locks)
        assert not result.success
        assert stack.dataservice.write_count() == 0
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        assert failure.step_key == "kf_study"
        assert "Another ingest_gwo or undo_gwo run is loading" in failure.event_specific_data.user_failure_data.description
        assert "other-run" in failure.event_specific_data.user_failure_data.description
        dry = run_ingest(stack.info, tmp_path / "reports", dry_run=True, lock_dir=locks)
        assert dry.success  # a dry run writes nothing, so it needs no lock
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the killed holder's lock: the load now goes through.
    assert run_ingest(stack.info, tmp_path / "reports", dry_run=False, lock_dir=locks).success
    assert stack.dataservice.write_count() > 0


def test_write_steps_refuse_without_the_lock(tmp_path):
    with pytest.raises(Exception, match="does not hold the load lock"):
        study_lock.require("SD_0A1B2C3D", "run-without-lock")
    study_lock.acquire(None, tmp_path, "SD_0A1B2C3D", "run-1")
    try:
        study_lock.require("SD_0A1B2C3D", "run-1")
        with pytest.raises(Exception, match="does not hold"):
            study_lock.require("SD_0A1B2C3D", "run-2")
    finally:
        study_lock.release("SD_0A1B2C3D", "run-1")
    with pytest.raises(Exception, match="does not hold"):
        study_lock.require("SD_0A1B2C3D", "run-1")

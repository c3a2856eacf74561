"""One load per study at a time, also on the CLI path where no Dagster daemon queues runs.

A non-blocking ``flock`` on ``<lock_dir>/<study_id>.lock`` is taken before the
study is read for planning and held until the run ends: a second real run for the
same study fails at once (its plan would be stale), and the kernel releases the
lock if the holder dies, even on SIGKILL. The lock covers one machine (or one
shared filesystem); Dagster's tag concurrency limits cover a whole deployment
(see dagster.yaml).
"""

import fcntl
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gwo_assets.core.kf_ids import validate_kf_id
from gwo_assets.errors import ConcurrentLoadError

def default_lock_dir() -> Path:
    """``$DAGSTER_HOME/gwo_assets`` (kept with the instance, survives reboots), else
    ``<tmp>/gwo_assets-locks``. The pending-files journal lives here too."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home) / "gwo_assets" if home else Path(tempfile.gettempdir()) / "gwo_assets-locks"


def is_temporary(lock_dir: str | Path) -> bool:
    """True when the lock dir (and so the journal) is under the temp dir, wiped on reboot."""
    resolved = Path(lock_dir or default_lock_dir()).resolve()
    return resolved.is_relative_to(Path(tempfile.gettempdir()).resolve())


@dataclass
class _Held:
    run_id: str
    handle: IO[str]


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def lock_path(lock_dir: str | Path, study_id: str) -> Path:
    return Path(lock_dir or default_lock_dir()) / f"{validate_kf_id(study_id, 'SD')}.lock"


def acquire(lock_dir: str | Path, study_id: str, run_id: str) -> None:
    """Take the study's lock for ``run_id`` or raise ConcurrentLoadError naming the holder."""
    path = lock_path(lock_dir, study_id)
    with _guard:
        held = _held.get(study_id)
        if held is not None:
            if held.run_id == run_id:
                return
            _release_locked(study_id)  # an earlier run of this process ended without releasing
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "{}"
            handle.close()
            raise ConcurrentLoadError(
                f"Another ingest_gwo run is loading {study_id} (lock {path}, holder {holder}); "
                "wait for it to finish, then rerun") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"run_id": run_id, "pid": os.getpid(),
                                 "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))
        handle.flush()
        _held[study_id] = _Held(run_id=run_id, handle=handle)


def require(study_id: str, run_id: str) -> None:
    """The guard every write step checks: this run must hold the study's lock."""
    with _guard:
        held = _held.get(study_id)
    if held is None or held.run_id != run_id:
        raise ConcurrentLoadError(
            f"This run does not hold the load lock for {study_id}: refusing to write "
            "(the lock is taken when the study is read; rerun the whole job)")


def release(study_id: str, run_id: str) -> None:
    with _guard:
        held = _held.get(study_id)
        if held is not None and held.run_id == run_id:
            _release_locked(study_id)


def _release_locked(study_id: str) -> None:
    held = _held.pop(study_id)
    fcntl.flock(held.handle, fcntl.LOCK_UN)
    held.handle.close()

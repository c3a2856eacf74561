"""One real load per study at a time, across every run that shares a Dagster instance.

The guard lives where the instance lives, so nobody has to remember to tag runs
and no host keeps state the others cannot see:

- **Postgres-backed instance** (dagster-postgres; several hosts, containers): a
  session-level ``pg_try_advisory_lock`` on the instance's own database, held on
  one dedicated connection for the run. PostgreSQL releases it when that session
  ends: the run finishes, its process dies (even SIGKILL: the kernel closes the
  socket), or the server drops a vanished host's connection (TCP keepalive).
- **SQLite instance** (the default local instance of one ``$DAGSTER_HOME``, which
  only processes on one machine can share): a non-blocking ``flock`` on
  ``<instance root>/gwo_assets/<study_id>.lock`` (``$DAGSTER_HOME/gwo_assets``); the
  kernel releases it when the holder dies. An ephemeral instance (in-process tests)
  keeps it in its own temp root.

The lock is named by the instance alone: no run setting moves it, so every run of a
study on one instance (ingest or undo) takes the same lock.

The lock is taken before the study is read for planning, so two runs can never
plan against the same state and both write; every write step checks that its run
still holds it (``require``, and ``watch`` within write loops): a lock whose session
ended, or whose lock file was closed, removed or replaced, is lost, and the run's remaining
writes are refused. The holder is named from the instance: each run that takes the
lock tags itself ``gwo/study`` (so the run list also filters by study).
"""

import fcntl
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import IO, Any, Protocol

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from gwo_assets.core.kf_ids import validate_kf_id
from gwo_assets.errors import ConcurrentLoadError

STUDY_TAG = "gwo/study"
LOCKING_TAG = "gwo/holds_study_lock"
ACTIVE = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


class _Lock(Protocol):
    where: str
    gone: str  # how it was lost, for the refusal

    def alive(self) -> bool: ...

    def liveness(self) -> dict: ...

    def release(self) -> None: ...


@dataclass
class _FileLock:
    where: str
    handle: IO[str]
    path: Path | None = None
    # ``<study>.<run_id>.live``, held exclusively for exactly as long as the study lock: other
    # processes probe it (object_claims) without ever touching the study lock itself.
    live: IO[str] | None = None
    live_path: Path | None = None

    gone = "its lock file was closed, removed or replaced"

    def alive(self) -> bool:
        """The lock's descriptor is open and still the file at its path (and so is the live
        marker's): a removed or replaced lock file lets another run flock a new one at the same
        path, so this run's lock no longer excludes anyone."""
        return (_same_file(self.handle, self.path)
                and (self.live is None or _same_file(self.live, self.live_path)))

    def liveness(self) -> dict:
        return {"file": str(self.live_path)} if self.live_path else {}

    def release(self) -> None:
        if self.live is not None:
            if _same_file(self.live, self.live_path):
                try:
                    self.live_path.unlink(missing_ok=True)
                except OSError:
                    pass
            _close(self.live)  # closing drops its flock
        _close(self.handle)


def _same_file(handle: IO[str], path: Path | None) -> bool:
    if handle.closed:
        return False
    try:
        opened = os.fstat(handle.fileno())
        return path is None or os.path.samestat(opened, os.stat(path))
    except (OSError, ValueError):
        return False


def _close(handle: IO[str]) -> None:
    """Unlock (for any process that inherited the descriptor too) and close a handle that may
    already be closed, or whose descriptor someone else closed."""
    try:
        if not handle.closed:
            fcntl.flock(handle, fcntl.LOCK_UN)
    except (OSError, ValueError):
        pass
    try:
        handle.close()
    except (OSError, ValueError):
        pass


@dataclass
class _PostgresLock:
    where: str
    connection: Any
    key: int = 0
    application_name: str = ""
    _guard: threading.Lock = field(default_factory=threading.Lock)
    gone = "its database session ended"

    def liveness(self) -> dict:
        return {"postgres_key": self.key, "application_name": self.application_name}

    def alive(self) -> bool:
        """The session still answers, so the server still holds its lock (only ``release``,
        which ends the session, ever unlocks it)."""
        from sqlalchemy import text

        try:
            with self._guard:
                self.connection.execute(text("SELECT 1")).scalar()
            return True
        except Exception:  # the connection is gone: so is the lock
            return False

    def release(self) -> None:
        try:
            self.connection.close()  # ending the session frees every lock it held
        except Exception:
            pass


@dataclass
class _Held:
    run_id: str
    lock: _Lock


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def instance_lock_dir(instance: DagsterInstance) -> Path:
    """Where a non-Postgres instance's study locks (and claim section) live, named by the
    instance alone: ``<instance root>/gwo_assets`` (``$DAGSTER_HOME/gwo_assets`` for a local
    instance, the instance's own temp root for an ephemeral one, which no other process can
    share)."""
    if instance is None:
        raise ValueError("The study lock is named by the Dagster instance: pass the run's "
                         "instance (context.instance)")
    return Path(instance.root_directory) / "gwo_assets"


def lock_path(instance: DagsterInstance, study_id: str) -> Path:
    return instance_lock_dir(instance) / f"{validate_kf_id(study_id, 'SD')}.lock"


def postgres_url(instance: DagsterInstance | None) -> str | None:
    """The instance's Postgres URL when its run storage is dagster-postgres, else None."""
    storage = getattr(instance, "run_storage", None) if instance is not None else None
    return getattr(storage, "postgres_url", None)


def advisory_key(study_id: str) -> int:
    """A stable signed 64-bit key per study (the lock namespace is the instance's database)."""
    digest = hashlib.sha256(f"gwo_assets/study-load/{study_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def acquire(instance: DagsterInstance, study_id: str, run_id: str) -> str:
    """Take the study's lock on ``instance`` for ``run_id`` or raise ConcurrentLoadError naming
    the holder. Returns where the lock lives (for logs)."""
    study_id = validate_kf_id(study_id, "SD")
    # (lock_path raises without an instance: the lock is named by it)
    lock_at = None if postgres_url(instance) else lock_path(instance, study_id)
    with _guard:
        held = _held.get(study_id)
        if held is not None:
            if held.run_id == run_id and held.lock.alive():
                return held.lock.where
            if held.run_id != run_id and _still_running(instance, held.run_id):
                raise ConcurrentLoadError(
                    f"Another ingest_gwo or undo_gwo run is loading {study_id} (run "
                    f"{held.run_id}, in this process); wait for it to finish, then rerun")
            _release_locked(study_id)  # an earlier run of this process ended without releasing
        url = postgres_url(instance)
        lock, holder = (_take_postgres(url, study_id, run_id) if url else
                        (_take_file(lock_at, run_id), ""))
        if lock is None:
            raise ConcurrentLoadError(
                f"Another ingest_gwo or undo_gwo run is loading {study_id} "
                f"({holder or _holders(instance, study_id, run_id)}); wait for it to finish "
                "(or, if it died, until its lock is released: see README 'One load per study'), "
                "then rerun") from None
        _held[study_id] = _Held(run_id=run_id, lock=lock)
    if instance is not None:
        instance.add_run_tags(run_id, {STUDY_TAG: study_id, LOCKING_TAG: "true"})
    return lock.where


def require(study_id: str, run_id: str) -> None:
    """The guard every write step checks: this run must still hold the study's lock."""
    with _guard:
        held = _held.get(study_id)
    if held is None or held.run_id != run_id:
        raise ConcurrentLoadError(
            f"This run does not hold the load lock for {study_id}: refusing to write "
            "(the lock is taken when the study is read; rerun the whole job)")
    if not held.lock.alive():
        raise ConcurrentLoadError(
            f"This run lost the load lock for {study_id} ({held.lock.where}: {held.lock.gone}): "
            "refusing to write; rerun the whole job")


def watch(study_id: str, run_id: str, every_seconds: float = 2.0) -> Callable[[], None]:
    """``require`` for long write loops, at most once per ``every_seconds``: a run whose lock
    connection dropped mid-step stops writing within seconds, not at the next step."""
    last = [0.0]
    guard = threading.Lock()

    def check() -> None:
        with guard:
            if time.monotonic() - last[0] < every_seconds:
                return
            require(study_id, run_id)
            last[0] = time.monotonic()

    return check


def liveness(study_id: str, run_id: str) -> dict:
    """How another process can tell, without touching the study lock, that ``run_id`` still
    holds it: ``{"file": <its live marker>}`` or ``{"postgres_key", "application_name"}``
    (the lock's session, named after the run). Raises ConcurrentLoadError unless held."""
    require(study_id, run_id)
    with _guard:
        return _held[study_id].lock.liveness()


def marker_is_held(path: str | Path) -> bool:
    """True while some process holds the live marker ``path`` (so its run holds its study lock).

    A shared, non-blocking probe of the marker, never of the study lock: a holder keeps the
    marker exclusively, so the probe fails while it lives and cannot delay or refuse anyone (no
    one else ever locks a marker but its holder, before its name is published). A marker found
    free belongs to a dead run: it is removed."""
    try:
        handle = open(path)
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            pass
        return False


def release(study_id: str, run_id: str) -> None:
    with _guard:
        held = _held.get(study_id)
        if held is not None and held.run_id == run_id:
            _release_locked(study_id)


def _still_running(instance: DagsterInstance | None, run_id: str) -> bool:
    """True while the instance knows ``run_id`` as starting, started or canceling."""
    run = instance.get_run_by_id(run_id) if instance is not None else None
    return run is not None and run.status in ACTIVE


def _release_locked(study_id: str) -> None:
    _held.pop(study_id).lock.release()


def _take_file(path: Path, run_id: str) -> _FileLock | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"run_id": run_id, "pid": os.getpid(), "host": os.uname().nodename,
                             "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))
    handle.flush()
    live_path = path.with_name(f"{path.stem}.{run_id}.live")
    live = open(live_path, "a+")
    try:
        fcntl.flock(live, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh name: nobody else holds it
    except OSError:
        live.close()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
        raise
    return _FileLock(where=f"lock file {path}", handle=handle, path=path, live=live,
                     live_path=live_path)


APPLICATION_NAME = "gwo_assets run {run_id}"  # on the lock's session: names the holder
HOLDER_QUERY = """
SELECT a.application_name, coalesce(a.client_addr::text, 'local'), a.backend_start::text
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid::bigint = :high AND l.objid::bigint = :low"""


def _take_postgres(url: str, study_id: str, run_id: str) -> tuple[_PostgresLock | None, str]:
    """The lock on a session of its own, named after the run; else (None, who holds it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    key = advisory_key(study_id)
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    connection = engine.connect()
    try:
        connection.execute(text("SELECT set_config('application_name', :name, false)"),
                           {"name": APPLICATION_NAME.format(run_id=run_id)})
        if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            return _PostgresLock(where=f"advisory lock {key} in the instance's Postgres database",
                                 connection=connection, key=key,
                                 application_name=APPLICATION_NAME.format(run_id=run_id)), ""
        holders = connection.execute(text(HOLDER_QUERY), {
            "high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}).all()
    except Exception:
        connection.close()
        raise
    connection.close()
    return None, "; ".join(f"held by {name or 'an unnamed session'} from {address} since {since}"
                           for name, address, since in holders)


def _holders(instance: DagsterInstance, study_id: str, run_id: str) -> str:
    """Who holds the lock: active runs of the instance that took it, else the lock file's note."""
    runs: list[str] = []
    if instance is not None:
        records = instance.get_run_records(RunsFilter(
            tags={STUDY_TAG: study_id, LOCKING_TAG: "true"}, statuses=ACTIVE))
        runs = [f"run {record.dagster_run.run_id} ({record.dagster_run.job_name}, "
                f"{record.dagster_run.status.value})"
                for record in records if record.dagster_run.run_id != run_id]
    if runs:
        return "held by " + ", ".join(runs)
    if postgres_url(instance):
        return "held by a run of another process on this instance"
    path = lock_path(instance, study_id)
    try:
        note = path.read_text().strip()
    except OSError:
        note = ""
    return f"lock file {path}, holder {note or 'unknown'}"

"""Object claims: one S3 object, one loading study, across every run sharing a Dagster instance.

The study lock (``study_lock.py``) is per study, so two studies whose manifests name the
same S3 object could both register it: each looks it up by ``external_id``, finds nothing
(or the other's fresh record, not linked yet, so "nobody's") and writes. A claim closes that:

- a real run, holding its study lock and before it looks anything up by ``external_id``,
  enters a short instance-wide critical section, reads the other studies' claims, keeps the
  **live** ones, and records its own claim on its manifest's Filepaths (those no live run of
  another study claimed first), then leaves;
- a claim is live exactly while its run still holds its study lock: on a Postgres instance the
  lock's session (named ``gwo_assets run <run_id>``) is in ``pg_locks``; on a SQLite or
  ephemeral instance the run's live marker ``<study>.<run_id>.live`` is still locked (probed
  with a shared non-blocking flock, never the study lock itself). A finished or killed run's
  claim therefore dies with its lock, with nothing to clean up by hand;
- a Filepath claimed by a live run of another study is a blocking problem of this run
  (``core/existing_files.py``, check ``existing_files_are_reusable``), naming that study, its
  run and the kf_id when the DataService already holds one; ``skip_invalid_rows`` skips it.
  Dry runs read the claims and report conflicts, and never record one.

Where they live: the run storage's key-value table (``get_cursor_values`` /
``set_cursor_values``), i.e. the instance database every host of a deployment shares. The
critical section is a transaction-level advisory lock of a fixed key in that database
(Postgres), else an exclusive ``flock`` on ``<instance root>/gwo_assets/claims.lock``.

Limit: claims arbitrate runs that share one Dagster instance. Another tool (or another
instance) writing the same object is still caught by the ``external_id`` classification.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dagster import DagsterInstance

from gwo_assets.errors import ConcurrentLoadError
from gwo_assets.resources import study_lock

INDEX_KEY = "gwo_assets/object_claims"          # {study_id: {run_id, since, live}}
FILEPATHS_KEY = "gwo_assets/object_claims/{study_id}"  # [filepath, ...] of that study's claim
SECTION_TIMEOUT_SECONDS = 60
SECTION_KEY = int.from_bytes(hashlib.sha256(b"gwo_assets/object-claims").digest()[:8], "big",
                             signed=True)
LIVE_HOLDERS_QUERY = """
SELECT l.classid::bigint, l.objid::bigint, a.application_name
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"""


@dataclass(frozen=True)
class Claim:
    """A live run's claim on some Filepaths, as another run sees it."""

    study_id: str
    run_id: str
    since: str


@dataclass(frozen=True)
class ClaimOutcome:
    conflicts: dict[str, Claim]  # Filepath -> the live claim of another study that holds it
    claimed: int  # Filepaths this run recorded (0 for a dry run)
    live_claims: int  # live claims of other studies seen
    where: str


def claim(instance: DagsterInstance, study_id: str, run_id: str, filepaths: Iterable[str],
          *, dry_run: bool) -> ClaimOutcome:
    """Record ``run_id``'s claim on ``filepaths`` (a real run, which must hold its study lock),
    or only read the others' (a dry run); the Filepaths a live run of another study holds."""
    wanted = sorted(set(filepaths))
    liveness = None if dry_run else study_lock.liveness(study_id, run_id)
    storage = instance.run_storage
    url = study_lock.postgres_url(instance)
    with (_postgres_section(url) if url else _file_section(instance)) as (where, live_holders):
        index = _loads(storage.get_cursor_values({INDEX_KEY}).get(INDEX_KEY), {})
        live = {study: entry for study, entry in index.items()
                if study != study_id and _is_live(entry, live_holders)}
        held = storage.get_cursor_values(
            {FILEPATHS_KEY.format(study_id=study) for study in live}) if live else {}
        conflicts: dict[str, Claim] = {}
        wanted_set = set(wanted)
        for study, entry in sorted(live.items(), key=lambda item: item[1].get("since", "")):
            claim_of = Claim(study_id=study, run_id=entry["run_id"], since=entry.get("since", ""))
            for filepath in _loads(held.get(FILEPATHS_KEY.format(study_id=study)), []):
                if filepath in wanted_set:
                    conflicts.setdefault(filepath, claim_of)
        ours = [filepath for filepath in wanted if filepath not in conflicts]
        if not dry_run:
            dead = [study for study in index if study != study_id and study not in live]
            # One key per call: SQLite's set_cursor_values loses new keys mixed with old ones.
            storage.set_cursor_values({FILEPATHS_KEY.format(study_id=study_id): json.dumps(ours)})
            for study in dead:
                storage.set_cursor_values({FILEPATHS_KEY.format(study_id=study): "[]"})
            storage.set_cursor_values({INDEX_KEY: json.dumps({
                **{study: index[study] for study in live},
                study_id: {"run_id": run_id, "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "live": liveness}}, sort_keys=True)})
    return ClaimOutcome(conflicts=conflicts, claimed=0 if dry_run else len(ours),
                        live_claims=len(live), where=where)


def _is_live(entry: dict, live_holders: set[tuple[int, str]] | None) -> bool:
    """Whether the claim's run still holds its study lock."""
    live = entry.get("live") or {}
    if "file" in live:
        return study_lock.marker_is_held(live["file"])
    if "postgres_key" in live and live_holders is not None:
        return (int(live["postgres_key"]), str(live.get("application_name"))) in live_holders
    return False  # written by a backend this instance does not use: its run cannot be alive


@contextmanager
def _file_section(instance: DagsterInstance) -> Iterator[tuple[str, None]]:
    """An exclusive flock beside the instance (a SQLite instance is shared by processes of one
    machine only; an ephemeral one by threads of one process). Waits, polling, at most
    ``SECTION_TIMEOUT_SECONDS``: the section lasts a few reads and writes."""
    path = study_lock.instance_lock_dir(instance) / "claims.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + SECTION_TIMEOUT_SECONDS
    with open(path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConcurrentLoadError(
                        f"Could not enter the object-claim section ({path}) within "
                        f"{SECTION_TIMEOUT_SECONDS} s; another run holds it: rerun") from None
                time.sleep(0.02)
        try:
            yield f"claims in the instance's run storage, section {path}", None
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _postgres_section(url: str) -> Iterator[tuple[str, set[tuple[int, str]]]]:
    """A transaction-level advisory lock of a fixed key on a short-lived session (released at
    commit, or by the server if this process dies), and who holds which study lock now."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(f"SET LOCAL lock_timeout = '{SECTION_TIMEOUT_SECONDS}s'"))
            try:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": SECTION_KEY})
            except Exception as error:  # lock_timeout
                raise ConcurrentLoadError(
                    f"Could not enter the object-claim section (advisory lock {SECTION_KEY}) "
                    f"within {SECTION_TIMEOUT_SECONDS} s: rerun ({type(error).__name__})"
                ) from None
            holders = {(_signed_key(high, low), str(name))
                       for high, low, name in connection.execute(text(LIVE_HOLDERS_QUERY))}
            yield f"claims in the instance's Postgres database, section {SECTION_KEY}", holders
            connection.commit()  # ends the transaction: frees the section
    finally:
        engine.dispose()


def _signed_key(high: int, low: int) -> int:
    """The bigint advisory key from pg_locks' two unsigned 32-bit halves (classid, objid)."""
    key = (int(high) << 32) | int(low)
    return key - (1 << 64) if key >= 1 << 63 else key


def _loads(value: str | None, default: Any) -> Any:
    try:
        return json.loads(value) if value else default
    except ValueError:
        return default

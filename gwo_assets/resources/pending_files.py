"""The pending-files journal: which genomic files a real run POSTed but has not linked yet.

The DataService only shows a genomic file to ``GET /genomic-files?study_id=`` once
the file has a biospecimen link, and ``external_id`` is not unique. A run killed
between POSTing a file and POSTing its biospecimen link leaves a file nobody can
find by study. Looking every manifest file up by ``external_id`` would find it,
but costs one GET per file on every fresh load (the bulk of a fresh load's reads).

So a real run writes down, before its first POST, the external_ids it is about
to create (``<lock_dir>/<study_id>.pending.jsonl``, beside the study's load lock,
flushed to disk), and removes them once their biospecimen links exist. The next
run looks up by ``external_id`` only the manifest files this journal lists and
the study read did not return. All of it happens under the study's load lock, so
one run at a time touches a study's journal.
"""

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from gwo_assets.resources.study_lock import lock_path


def journal_path(lock_dir: str | Path, study_id: str) -> Path:
    """``<lock_dir>/<study_id>.pending.jsonl`` (see ``study_lock.default_lock_dir``)."""
    return lock_path(lock_dir, study_id).with_suffix(".pending.jsonl")


def pending(lock_dir: str | Path, study_id: str) -> set[str]:
    """External ids POSTed by earlier runs whose biospecimen links may not exist."""
    try:
        text = journal_path(lock_dir, study_id).read_text(encoding="utf-8")
    except FileNotFoundError:  # none yet, or a real run just settled it (dry runs take no lock)
        return set()
    found: set[str] = set()
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash mid-write: its POSTs never started
        found.update(entry.get("external_ids") or [])
    return found


def record(lock_dir: str | Path, study_id: str, run_id: str, external_ids: Iterable[str]) -> int:
    """Append the external_ids about to be POSTed; on disk (fsync) before this returns."""
    ids = sorted(set(external_ids))
    if not ids:
        return 0
    path = journal_path(lock_dir, study_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"run_id": run_id, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                       "external_ids": ids})
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell():
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":  # a line cut short by a crash: never extend it
                line = "\n" + line
        handle.write((line + "\n").encode())
        handle.flush()
        os.fsync(handle.fileno())
    return len(ids)


def settle(lock_dir: str | Path, study_id: str, linked: Iterable[str]) -> int:
    """Forget external_ids whose files are visible again (linked) or gone (undone); returns
    how many remain."""
    path = journal_path(lock_dir, study_id)
    if not path.exists():
        return 0
    remaining = pending(lock_dir, study_id) - set(linked)
    if not remaining:
        path.unlink()
        return 0
    temporary = path.with_suffix(".tmp")
    line = json.dumps({"run_id": "settled", "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                       "external_ids": sorted(remaining)})
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)  # atomic: the old journal or the new one, never half of one
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return len(remaining)

"""Create, read, update and delete one record, with the service's checks in its order.

Order matters because a client sees only the first failure: body validation,
then indexd (genomic files), then unique constraints, then foreign keys. SQLite
enforces the constraints; only when it refuses a write does the sandbox look
up which one failed, to word it as the service does. Every write runs in one
transaction, so a failed request changes nothing.
"""

import sqlite3
from dataclasses import dataclass

from gwo_assets.sandbox.dataservice import indexd, render, store
from gwo_assets.sandbox.dataservice.api_errors import (
    ApiError, internal_error, invalid, not_found,
)
from gwo_assets.sandbox.dataservice.kf_ids import new_kf_id, new_uuid
from gwo_assets.sandbox.dataservice.schema import (
    GENOMIC_FILE, SEQUENCING_EXPERIMENT, SEQUENCING_EXPERIMENT_GENOMIC_FILE, Resource,
)
from gwo_assets.sandbox.dataservice.store import Record, Store
from gwo_assets.sandbox.dataservice.validation import validate_body

_INVALID_INPUT = {"_schema": ["Invalid input type."]}


@dataclass(frozen=True)
class Outcome:
    """A rendered record and whether the request changed any state."""

    kf_id: str
    results: dict
    links: dict
    changed: bool


def read(db: Store, resource: Resource, kf_id: str) -> Outcome:
    with db.connection() as conn:
        return _outcome(conn, resource, _existing(conn, resource, kf_id), changed=False)


def create(db: Store, resource: Resource, body: object) -> Outcome:
    """POST: a new record, or a silent overwrite when the body names an existing kf_id."""
    if not isinstance(body, dict):
        raise invalid("create", resource.entity, _INVALID_INPUT)
    values, errors = validate_body(resource, body, partial=False)
    if errors:
        raise invalid("create", resource.entity, errors)
    with db.transaction() as conn:
        kf_id = values.pop("kf_id", None)
        current = store.fetch(conn, resource, kf_id) if kf_id else None
        if current is not None:
            record, changed = _apply_changes(conn, db, resource, current, values)
        else:
            record, changed = _insert(conn, db, resource, values, kf_id), True
        return _outcome(conn, resource, record, changed)


def update(db: Store, resource: Resource, kf_id: str, body: object) -> Outcome:
    """PATCH: only the given fields change (a genomic file's modified_at always moves)."""
    body = body or {}
    if not isinstance(body, dict):
        raise invalid("update", resource.entity, _INVALID_INPUT)
    with db.transaction() as conn:
        current = _existing(conn, resource, kf_id)
        values, errors = validate_body(resource, body, partial=True)
        if errors:
            raise invalid("update", resource.entity, errors)
        values.pop("kf_id", None)
        record, changed = _apply_changes(conn, db, resource, current, values)
        return _outcome(conn, resource, record, changed)


def delete(db: Store, resource: Resource, kf_id: str) -> Outcome:
    """DELETE: answers with the deleted record; links cascade, orphan experiments go."""
    with db.transaction() as conn:
        record = _existing(conn, resource, kf_id)
        outcome = _outcome(conn, resource, record, changed=True)
        sweep = resource is SEQUENCING_EXPERIMENT_GENOMIC_FILE or (
            resource in (GENOMIC_FILE, SEQUENCING_EXPERIMENT)
            and store.has_experiment_links(conn, f"{resource.entity}_id", kf_id))
        store.delete(conn, resource, kf_id)
        if sweep:
            store.delete_unlinked_experiments(conn)
        return outcome


def _existing(conn: sqlite3.Connection, resource: Resource, kf_id: str) -> Record:
    record = store.fetch(conn, resource, kf_id)
    if record is None:
        raise not_found(resource.entity, kf_id)
    return record


def _insert(conn: sqlite3.Connection, db: Store, resource: Resource, values: dict,
            kf_id: str | None) -> Record:
    now = db.now()
    record: Record = {field.name: field.default for field in resource.fields}
    record.update(values)
    record.update(kf_id=kf_id or new_kf_id(resource.prefix), uuid=new_uuid(),
                  created_at=now, modified_at=now)
    if resource is GENOMIC_FILE:
        record["metadata"] = indexd.stored_metadata(record["metadata"])
        refusal = indexd.record_error(record["size"], record["hashes"])
        if refusal:
            raise ApiError(400, f"failed to create new indexd record: {refusal}")
        record["latest_did"] = new_uuid()
    try:
        store.insert(conn, resource, record)
    except sqlite3.IntegrityError:
        _explain_refusal(conn, resource, record, record.keys())
        raise
    return record


def _apply_changes(conn: sqlite3.Connection, db: Store, resource: Resource, current: Record,
                   values: dict) -> tuple[Record, bool]:
    """Write the values that differ; a genomic file's modified_at moves on every PATCH."""
    if resource is GENOMIC_FILE and "metadata" in values:
        values["metadata"] = indexd.stored_metadata(values["metadata"])
    changes = {name: value for name, value in values.items() if current[name] != value}
    if resource is GENOMIC_FILE:
        changes.update(_file_version(current, changes))
    elif not changes:
        return current, False
    changes["modified_at"] = db.now()
    record = {**current, **changes}
    try:
        store.update(conn, resource, current["kf_id"], changes)
    except sqlite3.IntegrityError:
        _explain_refusal(conn, resource, record, changes.keys())
        raise
    return record, True


def _file_version(current: Record, changes: dict) -> dict:
    """New size or hashes make a new indexd version (new latest_did); a refusal is a 500."""
    if "size" not in changes and "hashes" not in changes:
        return {}
    merged = {**current, **changes}
    if indexd.record_error(merged["size"], merged["hashes"]):
        raise internal_error()
    return {"latest_did": new_uuid()}


def _explain_refusal(conn: sqlite3.Connection, resource: Resource, record: Record,
                     changed: object) -> None:
    """Raise the service's unique or foreign-key error for a write SQLite refused."""
    for columns in resource.unique:
        if any(c in changed for c in columns) and store.duplicate_exists(
                conn, resource, record, columns):
            raise ApiError(400, f"could not create {resource.table}. one with "
                                f"({', '.join(columns)}) = "
                                f"({', '.join(str(record[c]) for c in columns)}) "
                                "already exists.")
    for field in sorted(resource.fields, key=lambda f: f.name):
        value = record[field.name]
        if (field.references and field.name in changed and value is not None
                and not store.exists(conn, field.references, value)):
            raise ApiError(400, f'{field.references} "{value}" does not exist')


def _outcome(conn: sqlite3.Connection, resource: Resource, record: Record,
             changed: bool) -> Outcome:
    links = None
    if resource is SEQUENCING_EXPERIMENT:
        links = store.experiment_link_ids(conn, [record["kf_id"]])
    return Outcome(record["kf_id"], render.results(resource, record, links),
                   render.links(resource, record), changed)

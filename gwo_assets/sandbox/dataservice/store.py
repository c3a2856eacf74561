"""SQLite behind the sandbox DataService.

WAL lets readers run beside the single writer; one process-wide write lock
(taken before ``BEGIN IMMEDIATE``) means concurrent writers queue instead of
seeing SQLITE_BUSY. Connections are pooled because the HTTP server starts a
thread per client connection. Timestamps are integer microseconds since the
epoch (UTC) from a clock that never repeats, so creation order is page order.
"""

import json
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import cache

from gwo_assets.sandbox.dataservice.schema import (
    BOOL, DATETIME, FLOAT, INT, JSON_KINDS, RESOURCES, Field, Resource,
)

Record = dict[str, object]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SQL_TYPES = {INT: "INTEGER", FLOAT: "REAL", BOOL: "INTEGER", DATETIME: "INTEGER"}
EXPERIMENT_LINKS = "sequencing_experiment_genomic_file"


def to_micros(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class Store:
    """Pooled connections, one writer at a time, and the sandbox clock."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._last_micros = 0
        with self.connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(schema_sql(RESOURCES))

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection for reads (WAL: never blocked by the writer)."""
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._pool.put(conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The only way to write: serialized, committed on success, rolled back on error."""
        with self._write_lock, self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def now(self) -> int:
        """Microseconds since the epoch, strictly increasing; call inside a transaction."""
        self._last_micros = max(time.time_ns() // 1000, self._last_micros + 1)
        return self._last_micros

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=OFF")  # a sandbox: speed over surviving power loss
        conn.execute("PRAGMA mmap_size=2147483648")  # a filled sandbox scans 1 GiB: map it all
        conn.execute("PRAGMA busy_timeout=10000")
        with self._connections_lock:
            self._connections.append(conn)
        return conn


def schema_sql(resources: Sequence[Resource]) -> str:
    """Tables, link-pair UNIQUE constraints, and indexes on foreign keys and the page order.

    Like the real service's schema, no index on ``external_id`` (of any table, so a
    ``?external_id=`` look-up scans, twice: page and ``total``), ``visible`` or
    ``is_harmonized``. The real schema declares no index on foreign keys or
    ``created_at`` either; the sandbox keeps them, so study reads and paging stay
    cheap at any size (what a full real DataService costs there is not recorded).
    """
    statements = []
    for resource in resources:
        columns = ["kf_id TEXT PRIMARY KEY", "uuid TEXT NOT NULL",
                   "created_at INTEGER NOT NULL", "modified_at INTEGER NOT NULL"]
        columns += [_column_sql(field) for field in resource.fields]
        if resource.path == "genomic-files":
            columns.append("latest_did TEXT NOT NULL")
        columns += [f"UNIQUE ({', '.join(cols)})" for cols in resource.unique]
        statements.append(f"CREATE TABLE IF NOT EXISTS {resource.table} (\n  "
                          + ",\n  ".join(columns) + "\n) WITHOUT ROWID")
        covered = {cols[0] for cols in resource.unique}  # a UNIQUE pair indexes its first column
        indexed = [("created_at", "uuid")]
        indexed += [(f.name,) for f in resource.fields if f.name not in covered
                    and f.references]
        statements += [f"CREATE INDEX IF NOT EXISTS ix_{resource.table}_{'_'.join(cols)} "
                       f"ON {resource.table} ({', '.join(cols)})" for cols in indexed]
        if resource.path == "genomic-files":
            statements += INDEXD_URL_INDEXES
    return ";\n".join(statements) + ";"


# indexd keeps its urls in a table of its own with an index (``GET /index/?url=`` is cheap at
# any size); the sandbox keeps urls on the genomic file: an expression index on the first url,
# and a partial index for the rare record with several.
INDEXD_URL_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_genomic_file_first_url "
    "ON genomic_file (json_extract(urls, '$[0]'))",
    "CREATE INDEX IF NOT EXISTS ix_genomic_file_several_urls "
    "ON genomic_file (kf_id) WHERE json_array_length(urls) > 1",
]


def records_with_url(conn: sqlite3.Connection, resource: Resource, url: str,
                     limit: int) -> list[Record]:
    """Genomic files whose urls include ``url`` (indexd's ``?url=``), oldest first."""
    sql = (f"SELECT * FROM {resource.table} WHERE json_extract(urls, '$[0]') = ? "
           f"UNION SELECT * FROM {resource.table} WHERE json_array_length(urls) > 1 "
           "AND EXISTS (SELECT 1 FROM json_each(urls) WHERE value = ?) "
           "ORDER BY created_at, uuid LIMIT ?")
    return [_record(resource, row) for row in conn.execute(sql, (url, url, limit))]


def _column_sql(field: Field) -> str:
    sql = f"{field.name} {_SQL_TYPES.get(field.kind, 'TEXT')}"
    if not field.nullable:
        sql += " NOT NULL"
    if field.references:
        sql += f" REFERENCES {field.references}(kf_id) ON DELETE {field.on_delete}"
    return sql


@cache
def _columns(resource: Resource) -> tuple[str, ...]:
    extra = ("latest_did",) if resource.path == "genomic-files" else ()
    return ("kf_id", "uuid", "created_at", "modified_at",
            *(f.name for f in resource.fields), *extra)


def _encode(field: Field | None, value: object) -> object:
    if value is None or field is None:
        return value
    if field.kind in JSON_KINDS:
        return json.dumps(value)
    if field.kind == DATETIME:
        return to_micros(value)
    if field.kind == BOOL:
        return int(value)
    return value


def _decode(field: Field | None, value: object) -> object:
    if value is None or field is None:
        return value
    if field.kind in JSON_KINDS:
        return json.loads(value)
    if field.kind == DATETIME:
        return from_micros(value)
    if field.kind == BOOL:
        return bool(value)
    return value


@cache
def _decoded_columns(resource: Resource) -> tuple[tuple[str, Field], ...]:
    """The columns whose stored value differs from the record's (JSON, datetime, bool)."""
    return tuple((f.name, f) for f in resource.fields
                 if f.kind in JSON_KINDS or f.kind in (DATETIME, BOOL))


def _record(resource: Resource, row: sqlite3.Row) -> Record:
    record = dict(zip(row.keys(), row))  # list pages build thousands: decode only what needs it
    for name, field in _decoded_columns(resource):
        value = record.get(name)
        if value is not None:
            record[name] = _decode(field, value)
    return record


def fetch(conn: sqlite3.Connection, resource: Resource, kf_id: str) -> Record | None:
    row = conn.execute(f"SELECT * FROM {resource.table} WHERE kf_id = ?", (kf_id,)).fetchone()
    return _record(resource, row) if row else None


def exists(conn: sqlite3.Connection, table: str, kf_id: str) -> bool:
    sql = f"SELECT 1 FROM {table} WHERE kf_id = ?"
    return conn.execute(sql, (kf_id,)).fetchone() is not None


def insert(conn: sqlite3.Connection, resource: Resource, record: Record) -> None:
    fields = resource.field_map
    names = [name for name in _columns(resource) if name in record]
    sql = (f"INSERT INTO {resource.table} ({', '.join(names)}) "
           f"VALUES ({', '.join('?' * len(names))})")
    conn.execute(sql, [_encode(fields.get(n), record[n]) for n in names])


def update(conn: sqlite3.Connection, resource: Resource, kf_id: str, changes: Record) -> None:
    fields = resource.field_map
    assignments = ", ".join(f"{name} = ?" for name in changes)
    params = [_encode(fields.get(n), v) for n, v in changes.items()]
    conn.execute(f"UPDATE {resource.table} SET {assignments} WHERE kf_id = ?", [*params, kf_id])


def delete(conn: sqlite3.Connection, resource: Resource, kf_id: str) -> None:
    conn.execute(f"DELETE FROM {resource.table} WHERE kf_id = ?", (kf_id,))


def encode_filter(resource: Resource, name: str, value: object) -> object:
    """A parsed filter value in its column representation."""
    return _encode(resource.field_map.get(name), value)


def duplicate_exists(conn: sqlite3.Connection, resource: Resource, record: Record,
                     columns: Sequence[str]) -> bool:
    """Another row already holds these unique column values."""
    where = " AND ".join(f"{c} = ?" for c in columns)
    sql = f"SELECT 1 FROM {resource.table} WHERE {where} AND kf_id != ?"
    params = [*(record[c] for c in columns), record["kf_id"]]
    return conn.execute(sql, params).fetchone() is not None


def page(conn: sqlite3.Connection, resource: Resource, where: Sequence[str],
         params: Sequence[object], after: tuple[int, str], limit: int) -> list[Record]:
    """Rows after the (created_at, uuid) cursor, in that order.

    With a filter, the rows it matches are found first (by an index when a relation
    filter has one, else by a scan, like the real service's) and then sorted: ``+``
    keeps SQLite from walking the whole ``created_at`` index instead, checking every
    row of the table one primary-key read at a time (14 s at 1 M genomic files).
    """
    order = "+created_at" if where else "created_at"
    clauses = [*where, f"({order} > ? OR ({order} = ? AND uuid > ?))"]
    sql = (f"SELECT * FROM {resource.table} WHERE {' AND '.join(clauses)} "
           f"ORDER BY {order}, uuid LIMIT ?")
    rows = conn.execute(sql, [*params, after[0], after[0], after[1], limit])
    return [_record(resource, row) for row in rows]


def count(conn: sqlite3.Connection, resource: Resource, where: Sequence[str],
          params: Sequence[object]) -> int:
    sql = f"SELECT COUNT(*) FROM {resource.table} WHERE {' AND '.join(where) or '1'}"
    return conn.execute(sql, params).fetchone()[0]


def experiment_link_ids(conn: sqlite3.Connection, experiment_ids: Sequence[str]
                        ) -> dict[str, list[str]]:
    """Each sequencing experiment's link kf_ids, oldest first."""
    marks = ", ".join("?" * len(experiment_ids))
    sql = (f"SELECT sequencing_experiment_id, kf_id FROM {EXPERIMENT_LINKS} "
           f"WHERE sequencing_experiment_id IN ({marks}) ORDER BY created_at, uuid")
    links: dict[str, list[str]] = {kf_id: [] for kf_id in experiment_ids}
    for experiment_id, kf_id in conn.execute(sql, list(experiment_ids)):
        links[experiment_id].append(kf_id)
    return links


def has_experiment_links(conn: sqlite3.Connection, column: str, kf_id: str) -> bool:
    sql = f"SELECT 1 FROM {EXPERIMENT_LINKS} WHERE {column} = ? LIMIT 1"
    return conn.execute(sql, (kf_id,)).fetchone() is not None


def delete_unlinked_experiments(conn: sqlite3.Connection) -> None:
    """The service's orphan sweep: every experiment without a link goes, in any study."""
    conn.execute(f"DELETE FROM sequencing_experiment WHERE kf_id NOT IN "
                 f"(SELECT sequencing_experiment_id FROM {EXPERIMENT_LINKS})")

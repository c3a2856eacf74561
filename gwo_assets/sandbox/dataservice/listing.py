"""GET on a collection: filters, study joins, cursor pagination and page links.

Every quirk here is recorded behaviour a loader has to live with: unknown
parameters are ignored, ``kf_id=`` crashes, ``study_id`` is an inner join (a
file without a biospecimen link is invisible to it), ``next`` appears whenever
a page is full and keeps only ``after``/``after_uuid``/``study_id``.
"""

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

from dateutil import parser as date_parser

from gwo_assets.sandbox.dataservice import render, store
from gwo_assets.sandbox.dataservice.api_errors import ApiError, internal_error
from gwo_assets.sandbox.dataservice.kf_ids import ZERO_UUID, has_kf_id_format
from gwo_assets.sandbox.dataservice.schema import (
    JSON_KINDS, SEQUENCING_EXPERIMENT, TIMESTAMPS, Resource,
)
from gwo_assets.sandbox.dataservice.validation import (
    INVALID_KF_ID, Invalid, as_utc, parse_filter_value, parse_iso_datetime,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MATCH_NOTHING = "0"

_STUDY_BIOSPECIMENS = ("SELECT bs.kf_id FROM biospecimen bs JOIN participant pt "
                       "ON pt.kf_id = bs.participant_id WHERE pt.study_id = ?")
_STUDY_FILES = ("SELECT genomic_file_id FROM biospecimen_genomic_file "
                f"WHERE biospecimen_id IN ({_STUDY_BIOSPECIMENS})")
_STUDY_CENTERS = ("SELECT bs.sequencing_center_id FROM biospecimen bs JOIN participant pt "
                  "ON pt.kf_id = bs.participant_id WHERE pt.study_id = ?")

# Filters that are not plain columns: parameter -> (kf_id prefix it must match, SQL
# condition on the resource's table, or None when the parameter is checked but unused).
RELATION_FILTERS: dict[str, dict[str, tuple[str, str | None]]] = {
    "studies": {"study_id": ("SD", None)},
    "families": {"study_id": (
        "SD", "kf_id IN (SELECT family_id FROM participant WHERE study_id = ?)")},
    "participants": {"study_id": ("SD", "study_id = ?")},
    "sequencing-centers": {"study_id": ("SD", f"kf_id IN ({_STUDY_CENTERS})")},
    "biospecimens": {
        "study_id": ("SD", "participant_id IN (SELECT kf_id FROM participant "
                           "WHERE study_id = ?)"),
        "genomic_file_id": ("GF", "kf_id IN (SELECT biospecimen_id FROM "
                                  "biospecimen_genomic_file WHERE genomic_file_id = ?)"),
        "diagnosis_id": ("DG", MATCH_NOTHING),
    },
    "sequencing-experiments": {
        "study_id": ("SD", "kf_id IN (SELECT sequencing_experiment_id FROM "
                           "sequencing_experiment_genomic_file WHERE genomic_file_id IN "
                           f"({_STUDY_FILES}))"),
        "genomic_file_id": ("GF", "kf_id IN (SELECT sequencing_experiment_id FROM "
                                  "sequencing_experiment_genomic_file "
                                  "WHERE genomic_file_id = ?)"),
    },
    "genomic-files": {
        "study_id": ("SD", f"kf_id IN ({_STUDY_FILES})"),
        "biospecimen_id": ("BS", "kf_id IN (SELECT genomic_file_id FROM "
                                 "biospecimen_genomic_file WHERE biospecimen_id = ?)"),
        "sequencing_experiment_id": ("SE", "kf_id IN (SELECT genomic_file_id FROM "
                                           "sequencing_experiment_genomic_file "
                                           "WHERE sequencing_experiment_id = ?)"),
        "read_group_id": ("RG", MATCH_NOTHING),
    },
    "sequencing-experiment-genomic-files": {
        "study_id": ("SD", f"genomic_file_id IN ({_STUDY_FILES})")},
    "biospecimen-genomic-files": {
        "study_id": ("SD", f"biospecimen_id IN ({_STUDY_BIOSPECIMENS})")},
}


@dataclass(frozen=True)
class Cursor:
    """The ``after``/``after_uuid`` position; ``given`` when the client sent one."""

    micros: int
    uuid: str
    given: bool


def list_page(conn: sqlite3.Connection, resource: Resource, params: dict[str, str]) -> dict:
    """The list envelope (without ``_status``) for one page of a collection."""
    where, values = filters(resource, params)
    limit = page_limit(params.get("limit"))
    cursor = page_cursor(params.get("after", ""), params.get("after_uuid"))
    records = store.page(conn, resource, where, values, (cursor.micros, cursor.uuid), limit)
    links = None
    if resource is SEQUENCING_EXPERIMENT and records:
        links = store.experiment_link_ids(conn, [r["kf_id"] for r in records])
    items = [{**render.results(resource, r, links), "_links": render.links(resource, r)}
             for r in records]
    return {
        "results": items,
        "_links": page_links(resource, params.get("study_id"), cursor, records, limit),
        "total": store.count(conn, resource, where, values),
        "limit": limit,
    }


def filters(resource: Resource, params: dict[str, str]) -> tuple[list[str], list[object]]:
    """SQL conditions for the query parameters; unknown parameters are ignored."""
    if "kf_id" in params:
        raise internal_error()
    relations = RELATION_FILTERS.get(resource.path, {})
    fields = resource.field_map
    where: list[str] = []
    values: list[object] = []
    errors: dict[str, object] = {}
    for name, raw in params.items():
        try:
            if name in relations:
                prefix, condition = relations[name]
                if not has_kf_id_format(raw, prefix):
                    raise Invalid([INVALID_KF_ID])
                if condition:
                    where.append(condition)
                    values += [raw] * condition.count("?")
            elif name in fields:
                _field_condition(resource, name, raw, where, values)
            elif name in TIMESTAMPS:
                where.append(f"{name} = ?")
                values.append(store.to_micros(parse_iso_datetime(raw)))
        except Invalid as invalid:
            errors[name] = invalid.messages
    if errors:
        raise ApiError(400, f"could not retrieve entities: {errors!r}")
    return where, values


def _field_condition(resource: Resource, name: str, raw: str, where: list[str],
                     values: list[object]) -> None:
    field = resource.field_map[name]
    if field.kind in JSON_KINDS:
        if field.in_indexd:
            where.append(MATCH_NOTHING)
        return
    value = parse_filter_value(field, raw)
    if field.in_indexd:  # held by indexd, not the database: never matches
        where.append(MATCH_NOTHING)
    elif value is None:
        where.append(f"{name} IS NULL")
    else:
        where.append(f"{name} = ?")
        values.append(store.encode_filter(resource, name, value))


def page_limit(raw: str | None) -> int:
    """Default 100, capped at 1000; a non-integer means 100 and <= 0 crashes."""
    try:
        limit = min(int(raw), MAX_LIMIT) if raw is not None else DEFAULT_LIMIT
    except ValueError:
        limit = DEFAULT_LIMIT
    if limit <= 0:
        raise internal_error()
    return limit


def page_cursor(after: str, after_uuid: str | None) -> Cursor:
    """``after`` is epoch seconds or any dateutil date; garbage means the beginning."""
    if after.replace(".", "").isdigit():
        try:
            moment = datetime.fromtimestamp(float(after), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise internal_error() from None
    else:
        try:
            moment = as_utc(date_parser.parse(after))
        except (ValueError, OverflowError):
            moment = store.EPOCH
    try:
        cursor_uuid = str(uuid.UUID(after_uuid)) if after_uuid is not None else ZERO_UUID
    except ValueError:
        cursor_uuid = ZERO_UUID
    micros = store.to_micros(moment)
    return Cursor(micros, cursor_uuid, given=(micros, cursor_uuid) != (0, ZERO_UUID))


def page_links(resource: Resource, study_id: str | None, cursor: Cursor,
               records: list[store.Record], limit: int) -> dict[str, str]:
    """``self`` echoes the cursor and study_id; ``next`` whenever the page is full."""
    links = {"self": _url(resource, cursor.micros, cursor.uuid, study_id, cursor.given)}
    if len(records) >= limit:
        last = records[-1]
        links["next"] = _url(resource, last["created_at"], last["uuid"], study_id, True)
    return links


def epoch_text(micros: int) -> str:
    """``datetime.timestamp()`` of a naive UTC datetime, as the service prints it."""
    return str(micros // 1_000_000 + (micros % 1_000_000) / 1e6)


def _url(resource: Resource, micros: int, cursor_uuid: str, study_id: str | None,
         with_cursor: bool) -> str:
    query = {"after": epoch_text(micros), "after_uuid": cursor_uuid} if with_cursor else {}
    if study_id is not None:
        query["study_id"] = study_id
    return f"/{resource.path}" + (f"?{urlencode(query)}" if query else "")

"""Body and filter validation with the service's own (marshmallow 2) messages.

The real service reports every field error of a body at once as a Python
dict repr, coerces leniently (``"123"`` -> 123, ``1.9`` -> 1, ``"true"`` ->
True) and rejects unknown fields; clients match on those messages, so the
sandbox reproduces them rather than inventing its own.
"""

from datetime import datetime, timezone

from dateutil import parser as date_parser

from gwo_assets.sandbox.dataservice.kf_ids import KF_ID_MAX_LENGTH, has_kf_id_format
from gwo_assets.sandbox.dataservice.schema import (
    BOOL, DATETIME, DICT, FLOAT, INT, KF_ID, STR, STR_LIST, TIMESTAMPS, Field, Resource,
)

MISSING = "Missing data for required field."
NOT_NULL = "Field may not be null."
UNKNOWN = "Unknown field"
INVALID_KF_ID = "Invalid kf_id"
TOO_LONG = f"Longer than maximum length {KF_ID_MAX_LENGTH}."

_TYPE_ERRORS = {
    STR: "Not a valid string.", KF_ID: "Not a valid string.", INT: "Not a valid integer.",
    FLOAT: "Not a valid number.", BOOL: "Not a valid boolean.",
    DATETIME: "Invalid date or datetime string", STR_LIST: "Not a valid list.",
    DICT: "Not a valid mapping type.",
}
_TRUE = {"t", "T", "true", "True", "TRUE", "1"}
_FALSE = {"f", "F", "false", "False", "FALSE", "0"}

Errors = dict[str, object]


class Invalid(Exception):
    """One field's error messages: a list, or a dict of list-item errors."""

    def __init__(self, messages: list | dict) -> None:
        super().__init__(messages)
        self.messages = messages


def validate_body(resource: Resource, body: dict, *, partial: bool) -> tuple[dict, Errors]:
    """Coerce a POST/PATCH body: (values, errors); output-only fields are dropped."""
    values: dict = {}
    errors: Errors = {}
    if "kf_id" in body:
        try:
            values["kf_id"] = _client_kf_id(body["kf_id"], resource.prefix)
        except Invalid as invalid:
            errors["kf_id"] = invalid.messages
    for field in resource.fields:
        if field.name not in body:
            if field.required and not partial:
                errors[field.name] = [MISSING]
            continue
        try:
            values[field.name] = _body_value(field, body[field.name])
        except Invalid as invalid:
            errors[field.name] = invalid.messages
    known = resource.field_map.keys() | {"kf_id", *TIMESTAMPS, *resource.output_only}
    errors.update({name: [UNKNOWN] for name in body if name not in known})
    return values, errors


def parse_filter_value(field: Field, raw: str) -> object:
    """A query-string value parsed and checked like the body field it filters."""
    return _checked(field, _coerce(field.kind, raw))


def parse_iso_datetime(raw: str) -> datetime:
    """``created_at``/``modified_at`` filter values (marshmallow's DateTime)."""
    try:
        return as_utc(date_parser.parse(raw))
    except (ValueError, OverflowError):
        raise Invalid(["Not a valid datetime."]) from None


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are UTC, as on the recorded server."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _client_kf_id(value: object, prefix: str) -> str:
    if value is None:
        raise Invalid([NOT_NULL])
    if not isinstance(value, str):
        raise Invalid([_TYPE_ERRORS[STR]])
    if len(value) > KF_ID_MAX_LENGTH:
        raise Invalid([TOO_LONG])
    if not has_kf_id_format(value, prefix):
        raise Invalid([INVALID_KF_ID])
    return value


def _body_value(field: Field, value: object) -> object:
    if value is None:
        if not field.nullable:
            raise Invalid([NOT_NULL])
        return None
    return _checked(field, _coerce(field.kind, value))


def _checked(field: Field, value: object) -> object:
    """The field's validators, after type coercion."""
    if value is None:
        return None
    if field.kind == KF_ID and len(value) > KF_ID_MAX_LENGTH:
        raise Invalid([TOO_LONG])
    if field.choices and value not in field.allowed:
        raise Invalid([f"Not a valid choice. Must be one of: "
                       f"{', '.join(str(choice) for choice in field.allowed)}"])
    if field.positive and value < 0:
        raise Invalid([f"Must be a positive {type(value).__name__}"])
    return value


def _coerce(kind: str, value: object) -> object:
    try:
        return _COERCERS[kind](value)
    except (TypeError, ValueError, OverflowError):
        raise Invalid([_TYPE_ERRORS[kind]]) from None


def _to_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _to_bool(value: object) -> bool:
    """marshmallow 2: anything falsy is False; then a fixed set of spellings."""
    if not value:
        return False
    text = str(value)
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _to_datetime(value: object) -> datetime | None:
    return as_utc(date_parser.parse(str(value))) if value else None


def _to_str_list(value: object) -> list[str]:
    if not isinstance(value, list):
        raise TypeError(value)
    item_errors = {i: [_TYPE_ERRORS[STR]] for i, item in enumerate(value)
                   if not isinstance(item, str)}
    if item_errors:
        raise Invalid(item_errors)
    return value


def _to_dict(value: object) -> dict:
    if not isinstance(value, dict):
        raise TypeError(value)
    return value


_COERCERS = {
    STR: _to_str, KF_ID: _to_str, INT: int, FLOAT: float, BOOL: _to_bool,
    DATETIME: _to_datetime, STR_LIST: _to_str_list, DICT: _to_dict,
}

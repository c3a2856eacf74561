"""Records as the service shows them: results without write-only ids, `_links` beside.

Relation ids such as a link's ``genomic_file_id`` are never result fields; a
client reads them from `_links`, so rendering is where they move there.
"""

import re
from datetime import datetime
from functools import cache

from gwo_assets.sandbox.dataservice import indexd
from gwo_assets.sandbox.dataservice.schema import TIMESTAMPS, Resource
from gwo_assets.sandbox.dataservice.store import Record, from_micros

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PLAIN = frozenset({str, int, float, bool, list, dict})


def results(resource: Resource, record: Record,
            experiment_links: dict[str, list[str]] | None = None) -> dict:
    """The ``results`` object; ``experiment_links`` is needed for sequencing experiments."""
    shown = {"kf_id": record["kf_id"]}
    shown.update({name: timestamp(record[name]) for name in TIMESTAMPS})
    shown.update({name: _json_value(record[name]) for name in _shown_fields(resource)})
    for name in resource.output_only:
        shown[name] = _output_only(name, record, experiment_links)
    return shown


def links(resource: Resource, record: Record) -> dict[str, str | None]:
    """``self``, ``collection`` and the resource's relations; unset relations are null."""
    rendered = {"self": f"/{resource.path}/{record['kf_id']}",
                "collection": f"/{resource.path}"}
    for name, template, keys in _link_templates(resource):
        if template is None or any(record[key] is None for key in keys):
            rendered[name] = None
        else:
            rendered[name] = template.format_map(record)
    return rendered


def timestamp(micros: int) -> str:
    """ISO 8601 with microseconds and +00:00, like the recorded service."""
    return from_micros(micros).isoformat()


def _output_only(name: str, record: Record,
                 experiment_links: dict[str, list[str]] | None) -> object:
    if name == "latest_did":
        return record["latest_did"]
    if name == "access_urls":
        return indexd.access_urls(record["urls"], record["latest_did"])
    if name == "sequencing_experiment_genomic_files":
        return experiment_links[record["kf_id"]]
    return None  # relations the sandbox does not model, e.g. a participant's alias_group


def _json_value(value: object) -> object:
    if value is None or value.__class__ in _PLAIN:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


@cache
def _shown_fields(resource: Resource) -> tuple[str, ...]:
    return tuple(field.name for field in resource.fields if not field.write_only)


@cache
def _link_templates(resource: Resource) -> tuple[tuple[str, str | None, tuple[str, ...]], ...]:
    return tuple((name, template, tuple(_PLACEHOLDER.findall(template)) if template else ())
                 for name, template in resource.links)

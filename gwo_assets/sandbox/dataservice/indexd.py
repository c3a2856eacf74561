"""The part of Gen3 indexd a genomic file depends on.

The real service keeps urls, hashes, size, file_name, acl, authz and metadata
in indexd, which checks hashes and size with a JSON schema. A loader sees those
checks as errors worded by jsonschema, so the sandbox words them the same way.
"""

import re
import textwrap
from pprint import pformat

HASH_PATTERNS = {
    "md5": "^[0-9a-f]{32}$",
    "sha1": "^[0-9a-f]{40}$",
    "sha256": "^[0-9a-f]{64}$",
    "sha512": "^[0-9a-f]{128}$",
    "crc": "^[0-9a-f]{8}$",
    "etag": "^[0-9a-f]{32}(-\\d+)?$",
}
GEN3_DATA_PREFIX = "gen3/data/"


def record_error(size: int, hashes: dict) -> str | None:
    """indexd's refusal of a record with these size/hashes, or None when valid."""
    for name, pattern in HASH_PATTERNS.items():
        if name not in hashes:
            continue
        value = hashes[name]
        schema = {"pattern": pattern, "type": "string"}
        where = f"schema['properties']['hashes']['properties'][{name!r}]"
        instance = f"instance['hashes'][{name!r}]"
        if not isinstance(value, str):
            return _jsonschema_error(f"{value!r} is not of type 'string'", "type", where,
                                     schema, instance, value)
        if not re.match(pattern, value):
            return _jsonschema_error(f"{value!r} does not match {pattern!r}", "pattern",
                                     where, schema, instance, value)
    if not hashes.keys() & HASH_PATTERNS.keys():
        return _jsonschema_error("'md5' is a required property", "required", "schema[0]",
                                 {"required": ["md5"]}, "instance", hashes)
    if size < 0:
        return _jsonschema_error(f"{size!r} is less than the minimum of 0", "minimum",
                                 "schema['properties']['size']",
                                 {"minimum": 0, "type": "integer"}, "instance['size']", size)
    return None


def stored_metadata(metadata: dict) -> dict:
    """indexd keeps metadata values as strings."""
    return {key: value if isinstance(value, str) else str(value)
            for key, value in metadata.items()}


def access_urls(urls: list[str], did: str) -> list[str]:
    """s3:// urls resolve to the Gen3 data endpoint of the current version; others pass."""
    return [f"{GEN3_DATA_PREFIX}{did}" if url.startswith("s3://") else url for url in urls]


def _jsonschema_error(message: str, validator: str, where: str, schema: dict,
                      instance_path: str, instance: object) -> str:
    """The text of ``str(jsonschema.ValidationError)``."""
    return (f"{message}\n\nFailed validating {validator!r} in {where}:\n"
            f"{textwrap.indent(pformat(schema, width=72), '    ')}\n\n"
            f"On {instance_path}:\n{textwrap.indent(pformat(instance, width=72), '    ')}")


def record(stored: dict) -> dict:
    """A genomic file's indexd record as ``GET /index/`` lists it (current version only)."""
    return {"did": stored["latest_did"], "baseid": stored["uuid"], "rev": stored["latest_did"][:8],
            "urls": stored["urls"], "hashes": stored["hashes"], "size": stored["size"],
            "file_name": stored["file_name"] or None, "acl": stored["acl"],
            "authz": stored["authz"], "metadata": stored["metadata"], "form": "object",
            "version": None, "uploader": None, "urls_metadata": {url: {} for url in stored["urls"]}}

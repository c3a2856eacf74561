"""Drift: does a DataService genomic file still describe its S3 object?

Pure pandas, no I/O: the audit (``gwo_assets/audit/``) reads the study's harmonized
genomic files and HEADs their objects, this module says per file what is wrong.

Classes, one per file (the first that applies, in this order):

- ``hidden``: ``visible: false`` in the DataService; not served, so not HEADed nor judged.
- ``object_gone``: S3 answers 404 (NoSuchKey) for the file's URL.
- ``unreadable``: S3 refused the HEAD (403 AccessDenied) or failed otherwise (the code is
  in ``detail``); also a record with no ``s3://`` URL to HEAD.
- ``changed``: the object is not proven the record's: the ingest's own test
  (``core/plan.py`` ``same_object``: same size, no hash S3 tells differing from the stored
  one - ETag, md5 when known, S3 checksums -, at least one stored equal) fails. A rerun of
  the ingest PATCHes exactly these files' size and hashes.
- ``availability_wrong``: ``availability`` differs from what the object's storage class
  implies (``Cold Storage`` for GLACIER, DEEP_ARCHIVE and Intelligent-Tiering's archive
  tiers, else ``Immediate Download``; the ingest's rule, ``core/payloads.py``).
- ``ok``: none of the above.

``problems`` lists every class that applies (a re-upload into Glacier is ``changed`` and
``availability_wrong``); ``status`` is the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from gwo_assets.core.payloads import (ARCHIVE_STATUSES, COLD_STORAGE_CLASSES, S3_CHECKSUMS,
                                      _base64_to_hex)
from gwo_assets.core.plan import same_object
from gwo_assets.core.s3_uris import is_s3_uri

OK = "ok"
HIDDEN = "hidden"
OBJECT_GONE = "object_gone"
UNREADABLE = "unreadable"
CHANGED = "changed"
AVAILABILITY_WRONG = "availability_wrong"
# The classes that are drift, in the order a file's status is chosen.
DRIFT_CLASSES = (OBJECT_GONE, UNREADABLE, CHANGED, AVAILABILITY_WRONG)
ALL_CLASSES = (OK, HIDDEN, *DRIFT_CLASSES)
LABELS = {OK: "ok", HIDDEN: "hidden (not audited)", OBJECT_GONE: "object gone",
          UNREADABLE: "unreadable", CHANGED: "changed", AVAILABILITY_WRONG: "availability wrong"}

NO_S3_URL = "no s3:// URL in the record's urls or external_id"
DRIFT_COLUMNS = [
    "kf_id", "external_id", "url", "status", "problems", "detail", "visible",
    "ds_size", "s3_size", "ds_etag", "s3_etag", "ds_md5", "s3_md5",
    "ds_availability", "s3_availability", "storage_class", "archive_status", "s3_error",
]


def audited_url(record: Mapping[str, Any]) -> str | None:
    """The S3 URL a record is audited by: its first ``s3://`` URL, else an ``s3://``
    external_id (what the ingest registers: ``urls == [external_id]``)."""
    urls = record.get("urls")
    for url in urls if isinstance(urls, (list, tuple)) else []:
        if isinstance(url, str) and is_s3_uri(url):
            return url
    external_id = record.get("external_id")
    return external_id if isinstance(external_id, str) and is_s3_uri(external_id) else None


def is_hidden(record: Mapping[str, Any]) -> bool:
    return record.get("visible") is False


def known_hashes(s3_row: Mapping[str, Any]) -> dict[str, str]:
    """The hashes S3 tells of the object, as the ingest would store them (lower-case hex)."""
    known = {name: str(s3_row[name]).lower() for name in ("md5", "etag") if _given(s3_row.get(name))}
    for column, (hash_type, length) in S3_CHECKSUMS.items():
        value = _base64_to_hex(s3_row.get(column), length)
        if value is not None:
            known[hash_type] = value
    return known


def expected_availability(storage_class: Any, archive_status: Any) -> str:
    """The ingest's rule (``core/payloads.py`` ``cold_storage``), for one object."""
    cold = storage_class in COLD_STORAGE_CLASSES or archive_status in ARCHIVE_STATUSES
    return "Cold Storage" if cold else "Immediate Download"


def classify(records: Iterable[Mapping[str, Any]],
             s3_rows: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per DataService record (``DRIFT_COLUMNS``); ``s3_rows`` maps each audited URL
    to its ``resources/s3.py`` metadata row (a record whose URL is missing there is
    ``unreadable``: it was never HEADed)."""
    rows = [_classify_one(record, s3_rows) for record in records]
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS, dtype=object)


def _classify_one(record: Mapping[str, Any], s3_rows: Mapping[str, Mapping[str, Any]]) -> dict:
    url = audited_url(record)
    stored_hashes = {str(k).lower(): str(v).lower()
                     for k, v in (record.get("hashes") or {}).items() if _given(v)}
    row = {
        "kf_id": record.get("kf_id"), "external_id": record.get("external_id"), "url": url,
        "visible": record.get("visible"), "ds_size": record.get("size"),
        "ds_etag": stored_hashes.get("etag"), "ds_md5": stored_hashes.get("md5"),
        "ds_availability": record.get("availability"),
    }
    if is_hidden(record):
        return {**row, "status": HIDDEN, "problems": [], "detail": "visible: false; not audited"}
    if url is None:
        return {**row, "status": UNREADABLE, "problems": [UNREADABLE], "detail": NO_S3_URL,
                "s3_error": "no s3 URL"}
    s3 = s3_rows.get(url)
    if s3 is None:
        return {**row, "status": UNREADABLE, "problems": [UNREADABLE], "s3_error": "not read",
                "detail": "the object was not HEADed (the audit stopped early)"}
    row.update(s3_error=s3.get("error"))
    if not s3.get("exists"):
        error = str(s3.get("error") or "")
        if error == "NoSuchKey":
            return {**row, "status": OBJECT_GONE, "problems": [OBJECT_GONE],
                    "detail": f"S3 answers 404 (NoSuchKey) for {url}"}
        reason = ("403 AccessDenied: the audit's credentials may not read it (s3:GetObject)"
                  if error == "AccessDenied" else f"S3 error {error}")
        return {**row, "status": UNREADABLE, "problems": [UNREADABLE], "detail": reason}

    s3_availability = expected_availability(s3.get("storage_class"), s3.get("archive_status"))
    row.update(s3_size=s3.get("size"), s3_etag=s3.get("etag"), s3_md5=s3.get("md5"),
               s3_availability=s3_availability, storage_class=s3.get("storage_class"),
               archive_status=s3.get("archive_status"))
    problems, details = [], []
    known = known_hashes(s3)
    if not same_object(known, s3.get("size"), stored_hashes, record.get("size")):
        problems.append(CHANGED)
        details.append(_change_detail(record.get("size"), s3.get("size"), stored_hashes, known))
    if record.get("availability") != s3_availability:
        problems.append(AVAILABILITY_WRONG)
        tier = s3.get("storage_class") or "STANDARD"
        if s3.get("archive_status"):
            tier += f" ({s3['archive_status']})"
        details.append(f"DataService says {record.get('availability') or 'nothing'}, "
                       f"S3 storage class {tier} means {s3_availability}")
    status = next((name for name in DRIFT_CLASSES if name in problems), OK)
    return {**row, "status": status, "problems": problems, "detail": "; ".join(details)}


def _change_detail(ds_size: Any, s3_size: Any, stored: Mapping[str, str],
                   known: Mapping[str, str]) -> str:
    parts = []
    if _given(ds_size) and _given(s3_size) and int(ds_size) != int(s3_size):
        parts.append(f"size {int(ds_size)} -> {int(s3_size)}")
    for hash_type in sorted(stored.keys() & known.keys()):
        if stored[hash_type] != known[hash_type]:
            parts.append(f"{hash_type} {stored[hash_type]} -> {known[hash_type]}")
    if not parts:
        parts.append("no stored size and hash prove the object the record's "
                     f"(stored: size {ds_size}, {sorted(stored) or 'no hashes'}; "
                     f"S3 tells {sorted(known) or 'no hashes'})")
    return "changed: " + ", ".join(parts)


def counts(drift: pd.DataFrame) -> dict[str, int]:
    """Files per status (every class, zeros included), and per drift class the files that
    have that problem (a file may have two)."""
    by_status = drift["status"].value_counts().to_dict() if not drift.empty else {}
    return {name: int(by_status.get(name, 0)) for name in ALL_CLASSES}


def with_problem(drift: pd.DataFrame, name: str) -> pd.DataFrame:
    """The files that have problem ``name`` (whatever their status)."""
    if drift.empty:
        return drift
    return drift[[name in problems for problems in drift["problems"]]]


def bucket_warnings(drift: pd.DataFrame) -> list[str]:
    """A bucket where every audited object is gone or unreadable is more likely the audit's
    setup (endpoint, credentials, a deleted bucket) than drift: say so before anyone hides
    records."""
    audited = drift[(drift["status"] != HIDDEN) & drift["url"].notna()] if not drift.empty else drift
    if audited.empty:
        return []
    buckets = audited["url"].str.split("/").str[2]
    warnings = []
    for bucket, group in audited.groupby(buckets):
        if group["status"].isin([OBJECT_GONE, UNREADABLE]).all():
            warnings.append(
                f"every audited object of bucket {bucket!r} ({len(group)}) is gone or "
                "unreadable: check the s3 resource's endpoint_url and the audit's AWS "
                "credentials (and that the bucket exists) before hiding or removing records")
    return warnings


def _given(value: Any) -> bool:
    if value is None:
        return False
    try:
        return not pd.isna(value)
    except (TypeError, ValueError):
        return True

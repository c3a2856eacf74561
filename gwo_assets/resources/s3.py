"""S3 access: a Dagster resource for the client, and object metadata scraping.

Missing objects are data (rows with ``exists=False`` for a check to report);
broken credentials, a missing bucket or an unreachable endpoint are the
environment's fault and raise ``S3AccessError`` naming the setting to fix.
"""

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Optional

import boto3
import dagster as dg
import pandas as pd
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from pydantic import Field

from gwo_assets.core.kf_ids import parse_s3_uri
from gwo_assets.errors import S3AccessError

COLD_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
LIST_THRESHOLD = 50
METADATA_COLUMNS = (
    "filepath", "bucket", "key", "exists", "size", "etag", "md5", "storage_class",
    "checksum_sha256", "checksum_crc32", "checksum_crc32c", "checksum_sha1", "error",
)
_CHECKSUM_FIELDS = {
    "checksum_sha256": "ChecksumSHA256", "checksum_crc32": "ChecksumCRC32",
    "checksum_crc32c": "ChecksumCRC32C", "checksum_sha1": "ChecksumSHA1",
}
_CREDENTIAL_ERROR_CODES = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired",
})
_ACCESS_DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_CREDENTIALS_HINT = ("set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
                     "or the s3 resource's `profile_name`")

ProgressCallback = Callable[[int, int], None]  # (objects done, objects total)


class S3Resource(dg.ConfigurableResource):
    """Where S3 is and how many requests in flight; credentials come from the boto3 chain."""

    region_name: str = Field(default="us-east-1", description="AWS region of the buckets.")
    endpoint_url: Optional[str] = Field(
        default=None,
        description="S3-compatible endpoint (e.g. a local moto server); empty for AWS.")
    profile_name: Optional[str] = Field(
        default=None,
        description="AWS profile from ~/.aws; empty uses AWS_PROFILE or the default chain.")
    max_concurrency: int = Field(default=16, ge=1, description="S3 requests in flight at once.")

    def get_client(self) -> Any:
        """A thread-safe boto3 S3 client with a pool sized for ``max_concurrency``."""
        try:
            session = boto3.Session(profile_name=self.profile_name, region_name=self.region_name)
        except ProfileNotFound as error:
            raise S3AccessError(
                f"AWS profile {self.profile_name!r} was not found: fix the s3 resource's "
                "`profile_name` or your ~/.aws/config") from error
        # Attempts are left to AWS_MAX_ATTEMPTS / the profile (standard mode: 3).
        config = Config(max_pool_connections=self.max_concurrency, retries={"mode": "standard"},
                        connect_timeout=5, read_timeout=60)
        return session.client("s3", endpoint_url=self.endpoint_url, config=config)


def read_object_bytes(client: Any, uri: str) -> bytes:
    """The whole object (a manifest); every failure is a one-sentence ``S3AccessError``."""
    bucket, key = parse_s3_uri(uri)
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except (ClientError, BotoCoreError) as error:
        if _error_code(error) in _NOT_FOUND_CODES:
            raise S3AccessError(f"S3 object {uri} does not exist: check the URI") from error
        raise _access_error(error, client, bucket) or S3AccessError(
            f"Could not read {uri} ({_error_code(error)}): check the object and your access to it"
        ) from error


def scrape_objects(client: Any, uris: Sequence[str], max_workers: int,
                   on_progress: ProgressCallback | None = None, list_threshold: int = LIST_THRESHOLD,
                   ) -> tuple[pd.DataFrame, dict]:
    """One metadata row per distinct URI, and request/outcome counts.

    A directory holding ``list_threshold`` or more of the URIs is read with LIST
    (1 request per 1000 keys); multipart objects found there are still HEADed
    because only HEAD returns user metadata (md5) and checksums. Everything else
    gets concurrent HEADs. A whole bucket is never listed.
    """
    filepaths = list(dict.fromkeys(uris))
    sent: Counter[str] = Counter()  # requests by kind: HEAD, LIST, HEAD_BUCKET
    rows: dict[str, dict] = {}
    targets: list[tuple[str, str, str]] = []
    for uri in filepaths:
        try:
            targets.append((uri, *parse_s3_uri(uri)))
        except ValueError:
            rows[uri] = _missing_row(uri, None, None, "not an s3://bucket/key URI")

    to_head: list[tuple[str, str, str]] = []
    groups = _group_by_directory(targets)
    listed = [(bucket, directory) for (bucket, directory), group in groups.items()
              if directory and len(group) >= list_threshold]
    listings = _list_directories(client, listed, groups, max_workers, sent)
    for (bucket, directory), group in groups.items():
        listing = listings.get((bucket, directory))
        if listing is None:
            to_head.extend(group)
            continue
        for uri, _, key in group:
            obj = listing.get(key)
            row = _row_from_listing(uri, bucket, key, obj) if obj else (
                _missing_row(uri, bucket, key, "NoSuchKey"))
            if row["exists"] and row["md5"] is None:
                to_head.append((uri, bucket, key))
            else:
                rows[uri] = row

    def report_progress(done_heads: int) -> None:
        if on_progress is not None:
            on_progress(len(rows) + done_heads, len(filepaths))

    report_progress(0)
    rows.update(_head_all(client, to_head, max_workers, sent, report_progress))
    _raise_when_a_bucket_is_unreadable(client, targets, rows, sent)
    frame = pd.DataFrame([rows[uri] for uri in filepaths], columns=list(METADATA_COLUMNS),
                         dtype=object).astype({"exists": bool})
    return frame, _stats(frame, sent)


def _group_by_directory(targets: Sequence[tuple[str, str, str]]) -> dict:
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for target in targets:
        _, bucket, key = target
        groups[(bucket, key.rpartition("/")[0])].append(target)
    return groups


def _list_directories(client: Any, directories: Sequence[tuple[str, str]], groups: dict,
                      max_workers: int, sent: Counter) -> dict[tuple[str, str], dict | None]:
    """``_list_keys`` for each directory, concurrently (each is a chain of pages)."""
    if not directories:
        return {}
    pages: Counter[str] = Counter()
    lock = threading.Lock()

    def list_one(directory: tuple[str, str]) -> dict | None:
        counted: Counter[str] = Counter()
        try:
            return _list_keys(client, *directory, [key for _, _, key in groups[directory]],
                              counted)
        finally:
            with lock:
                pages.update(counted)

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(directories)))) as pool:
        listings = dict(zip(directories, pool.map(list_one, directories)))
    sent.update(pages)
    return listings


def _list_keys(client: Any, bucket: str, directory: str, keys: Sequence[str],
               sent: Counter) -> dict[str, dict] | None:
    """Listing of one directory limited to the span of ``keys``; None when LIST is denied.

    ``StartAfter`` the smallest key minus its last character (a prefix of it, so
    sorted before it) and stopping past the largest key keeps the listing to the
    range we need even in a directory with many unrelated objects.
    """
    first, last = min(keys), max(keys)
    kwargs = {"Bucket": bucket, "Prefix": f"{directory}/", "Delimiter": "/",
              "StartAfter": first[:-1]}
    listing: dict[str, dict] = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
            sent["LIST"] += 1
            contents = page.get("Contents", [])
            listing.update((obj["Key"], obj) for obj in contents)
            if contents and contents[-1]["Key"] >= last:
                break
    except (ClientError, BotoCoreError) as error:
        if _error_code(error) in _ACCESS_DENIED_CODES:
            return None  # GetObject may still be allowed without ListBucket: HEAD instead
        raise _access_error(error, client, bucket) or _unexpected(error, bucket) from error
    return listing


def _head_all(client: Any, targets: Sequence[tuple[str, str, str]], max_workers: int,
              sent: Counter, report_progress: Callable[[int], None]) -> dict[str, dict]:
    """Concurrent HEADs; the first environment error cancels the rest and is raised."""
    rows: dict[str, dict] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers))
    futures = [pool.submit(_head_row, client, *target) for target in targets]
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            row = future.result()
            rows[row["filepath"]] = row
            report_progress(done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        sent["HEAD"] += sum(1 for future in futures if not future.cancelled())
    return rows


def _head_row(client: Any, uri: str, bucket: str, key: str) -> dict:
    try:
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except (ClientError, BotoCoreError) as error:
        code = _error_code(error)
        if code in _NOT_FOUND_CODES:
            return _missing_row(uri, bucket, key, "NoSuchKey")
        if code in _ACCESS_DENIED_CODES:
            return _missing_row(uri, bucket, key, "AccessDenied")
        fatal = _access_error(error, client, bucket)
        if fatal is not None:
            raise fatal from error
        return _missing_row(uri, bucket, key, f"{code}: {error}")
    etag = _clean_etag(head.get("ETag"))
    row = _row(uri, bucket, key, size=head.get("ContentLength"), etag=etag,
               storage_class=head.get("StorageClass"),
               md5_metadata=(head.get("Metadata") or {}).get("md5"))
    row.update({column: head.get(field) for column, field in _CHECKSUM_FIELDS.items()})
    return row


def _row_from_listing(uri: str, bucket: str, key: str, obj: dict) -> dict:
    return _row(uri, bucket, key, size=obj.get("Size"), etag=_clean_etag(obj.get("ETag")),
                storage_class=obj.get("StorageClass"), md5_metadata=None)


def _row(uri: str, bucket: str, key: str, *, size: int | None, etag: str | None,
         storage_class: str | None, md5_metadata: str | None) -> dict:
    """A found object; md5 is the ETag only when single-part (no ``-N`` suffix)."""
    if etag and "-" not in etag:
        md5 = etag
    else:
        md5 = md5_metadata.strip().lower() if md5_metadata else None
    return {**_missing_row(uri, bucket, key, None), "exists": True, "size": size, "etag": etag,
            "md5": md5, "storage_class": storage_class or "STANDARD"}


def _missing_row(uri: str, bucket: str | None, key: str | None, error: str | None) -> dict:
    row = dict.fromkeys(METADATA_COLUMNS)
    row.update(filepath=uri, bucket=bucket, key=key, exists=False, error=error)
    return row


def _clean_etag(etag: str | None) -> str | None:
    return etag.strip('"').lower() if etag else None


def _raise_when_a_bucket_is_unreadable(client: Any, targets: Sequence[tuple[str, str, str]],
                                       rows: dict[str, dict], sent: Counter) -> None:
    """A bucket where every object is denied or missing is an environment problem.

    HEAD errors have no body, so a missing bucket looks like missing objects: one
    HEAD on the bucket tells them apart.
    """
    errors_by_bucket: dict[str, set] = defaultdict(set)
    for uri, bucket, _ in targets:
        errors_by_bucket[bucket].add(rows[uri]["error"])
    for bucket, errors in errors_by_bucket.items():
        if errors == {"AccessDenied"}:
            raise S3AccessError(
                f"Access to every object in S3 bucket {bucket!r} was denied: use credentials "
                f"allowed to read it ({_CREDENTIALS_HINT})")
        if errors == {"NoSuchKey"}:
            sent["HEAD_BUCKET"] += 1
            try:
                client.head_bucket(Bucket=bucket)
            except (ClientError, BotoCoreError) as error:
                if _error_code(error) in _NOT_FOUND_CODES | {"NoSuchBucket"}:
                    raise _no_such_bucket(bucket) from error


def _stats(frame: pd.DataFrame, sent: Counter) -> dict:
    found = frame[frame["exists"]]
    return {
        "requests": dict(sent),
        "objects": len(frame),
        "found": len(found),
        "missing": int((~frame["exists"]).sum()),
        "cold": int(found["storage_class"].isin(COLD_STORAGE_CLASSES).sum()),
        "total_bytes": int(sum(size for size in found["size"] if size is not None)),
    }


def _error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def _no_such_bucket(bucket: str) -> S3AccessError:
    return S3AccessError(
        f"S3 bucket {bucket!r} does not exist: check the file paths in the manifest (or the "
        "s3 resource's `endpoint_url`)")


def _access_error(error: BaseException, client: Any, bucket: str) -> S3AccessError | None:
    """The one-sentence environment error for ``error``; None when it is not one."""
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return S3AccessError(f"No usable AWS credentials were found: {_CREDENTIALS_HINT}")
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError)):
        return S3AccessError(
            f"Could not reach S3 at {client.meta.endpoint_url}: check the s3 resource's "
            "`endpoint_url` (and the network)")
    code = _error_code(error)
    if code in _CREDENTIAL_ERROR_CODES:
        return S3AccessError(f"AWS rejected the credentials ({code}): {_CREDENTIALS_HINT}")
    if code == "NoSuchBucket":
        return _no_such_bucket(bucket)
    if code in _ACCESS_DENIED_CODES:
        return S3AccessError(
            f"Access to S3 bucket {bucket!r} was denied: use credentials allowed to read it "
            f"({_CREDENTIALS_HINT})")
    return None


def _unexpected(error: BaseException, bucket: str) -> S3AccessError:
    return S3AccessError(f"S3 failed on bucket {bucket!r} ({_error_code(error)}): retry later")

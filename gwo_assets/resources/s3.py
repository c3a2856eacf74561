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
from pydantic import Field, PrivateAttr

from gwo_assets.core.s3_uris import parse_s3_uri
from gwo_assets.core.payloads import cold_storage
from gwo_assets.errors import S3AccessError
from gwo_assets.resources.s3_prefetch import BackgroundScrape, Prefetches

METADATA_COLUMNS = (
    "filepath", "bucket", "key", "exists", "size", "etag", "md5", "storage_class",
    "archive_status", "server_side_encryption",
    "checksum_sha256", "checksum_crc32", "checksum_crc32c", "checksum_sha1", "error",
)
# Server-side encryptions whose ETag is not the MD5 of the content (SSE-C is "SSE-C" here).
_ETAG_NOT_MD5_ENCRYPTIONS = frozenset({"aws:kms", "aws:kms:dsse", "SSE-C"})
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
    _prefetches: Prefetches = PrivateAttr(default_factory=Prefetches)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._prefetches.stop_all()

    def prefetch_metadata(self, filepaths: Sequence[str]) -> None:
        """Start scraping these objects in the background (``resources/s3_prefetch.py``);
        a client that cannot be made (a bad profile or endpoint) is the S3 step's error to
        report, not this one's."""
        try:
            client = self.get_client()
        except Exception:
            return
        self._prefetches.start(scrape_objects, client, filepaths, self.max_concurrency)

    def prefetched_metadata(self, filepaths: Sequence[str]) -> BackgroundScrape | None:
        """The background scrape of exactly these Filepaths, if this run started one."""
        return self._prefetches.take(filepaths)

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
                   on_progress: ProgressCallback | None = None,
                   stop: threading.Event | None = None) -> tuple[pd.DataFrame, dict]:
    """One metadata row per distinct URI, and request/outcome counts (``stop``: once it is
    set, the HEADs not yet started are cancelled and ``ScrapeStopped`` is raised).

    Every object is HEADed (concurrently): only HEAD tells checksums, user metadata
    (md5), encryption and archive status, and the row must not depend on how the
    object was read, or reruns would PATCH hashes back and forth. A bucket is
    never listed.
    """
    filepaths = list(dict.fromkeys(uris))
    sent: Counter[str] = Counter()  # requests by kind: HEAD, HEAD_BUCKET
    rows: dict[str, dict] = {}
    targets: list[tuple[str, str, str]] = []
    for uri in filepaths:
        try:
            targets.append((uri, *parse_s3_uri(uri)))
        except ValueError:
            rows[uri] = _missing_row(uri, None, None, "not an s3://bucket/key URI")

    def report_progress(done_heads: int) -> None:
        if on_progress is not None:
            on_progress(len(rows) + done_heads, len(filepaths))

    report_progress(0)
    rows.update(_head_all(client, targets, max_workers, sent, report_progress, stop))
    _raise_when_a_bucket_is_unreadable(client, targets, rows, sent)
    frame = pd.DataFrame([rows[uri] for uri in filepaths], columns=list(METADATA_COLUMNS),
                         dtype=object).astype({"exists": bool})
    return frame, _stats(frame, sent)


class ScrapeStopped(Exception):
    """A background scrape was stopped before it finished (its run ended)."""


def _head_all(client: Any, targets: Sequence[tuple[str, str, str]], max_workers: int,
              sent: Counter, report_progress: Callable[[int], None],
              stop: threading.Event | None = None) -> dict[str, dict]:
    """Concurrent HEADs; the first environment error cancels the rest and is raised."""
    rows: dict[str, dict] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers))
    futures = [pool.submit(_head_row, client, *target) for target in targets]
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            if stop is not None and stop.is_set():
                raise ScrapeStopped(f"stopped after {done - 1} of {len(targets)} HEADs")
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
    return object_row(uri, bucket, key, head)


def head_object_row(client: Any, uri: str) -> dict:
    """The metadata row of one object, as ``scrape_objects`` makes it (one HEAD): missing,
    denied and other per-object errors are data (``exists=False``, ``error``); credentials or
    an unreachable endpoint raise ``S3AccessError`` (a HEAD answer has no body, so a missing
    bucket looks like a missing object). For callers that HEAD objects as they learn of them
    (the drift audit)."""
    try:
        bucket, key = parse_s3_uri(uri)
    except ValueError:
        return _missing_row(uri, None, None, "not an s3://bucket/key URI")
    return _head_row(client, uri, bucket, key)


def object_row(uri: str, bucket: str, key: str, head: dict) -> dict:
    """The metadata row of a found object from its HEAD answer.

    md5 is the ETag only when the ETag is one: single-part (no ``-N``) and not
    encrypted with SSE-KMS or SSE-C, whose ETags are not the content's MD5;
    otherwise the ``md5`` user-metadata entry, when present.
    """
    etag = _clean_etag(head.get("ETag"))
    encryption = "SSE-C" if head.get("SSECustomerAlgorithm") else head.get("ServerSideEncryption")
    md5_metadata = (head.get("Metadata") or {}).get("md5")
    if etag and "-" not in etag and encryption not in _ETAG_NOT_MD5_ENCRYPTIONS:
        md5 = etag
    else:
        md5 = md5_metadata.strip().lower() if md5_metadata else None
    row = {**_missing_row(uri, bucket, key, None), "exists": True,
           "size": head.get("ContentLength"), "etag": etag, "md5": md5,
           "storage_class": head.get("StorageClass") or "STANDARD",
           "archive_status": head.get("ArchiveStatus"), "server_side_encryption": encryption}
    row.update({column: head.get(field) for column, field in _CHECKSUM_FIELDS.items()})
    return row


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
        "cold": int(cold_storage(found["storage_class"], found["archive_status"]).sum()),
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

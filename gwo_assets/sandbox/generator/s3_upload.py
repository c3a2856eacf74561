"""Upload a plan's harmonized outputs, the way a workflow would leave them in S3.

Bodies are small and derived from the key (no RNG), so they are reproducible;
the loader must take sizes and hashes from S3, not from the manifest.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from gwo_assets.sandbox.generator.model import HarmonizedFile
from gwo_assets.sandbox.generator.plan import MULTIPART_PART_SIZE

WORKERS = 8


def ensure_bucket(s3_client: Any, bucket: str) -> None:
    try:
        s3_client.create_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise


def upload_outputs(s3_client: Any, bucket: str, outputs: tuple[HarmonizedFile, ...],
                   workers: int = WORKERS) -> None:
    """Create ``bucket`` if needed and put every output (boto3 clients are thread-safe)."""
    ensure_bucket(s3_client, bucket)
    with ThreadPoolExecutor(workers, "generator-s3") as pool:
        list(pool.map(lambda output: _upload(s3_client, bucket, output), outputs))


def object_body(output: HarmonizedFile) -> bytes:
    """The reproducible bytes of an output: its key's digest, repeated to size."""
    seed = hashlib.sha256(output.key.encode()).digest()
    repeats = output.body_size // len(seed) + 1
    return (seed * repeats)[: output.body_size]


def _upload(s3_client: Any, bucket: str, output: HarmonizedFile) -> None:
    body = object_body(output)
    extra: dict[str, Any] = {}
    if output.storage_class != "STANDARD":
        extra["StorageClass"] = output.storage_class
    if output.md5_metadata:
        extra["Metadata"] = {"md5": hashlib.md5(body).hexdigest()}
    if output.multipart:
        _multipart_upload(s3_client, bucket, output.key, body, extra)
    else:
        s3_client.put_object(Bucket=bucket, Key=output.key, Body=body, **extra)


def _multipart_upload(s3_client: Any, bucket: str, key: str, body: bytes, extra: dict[str, Any]) -> None:
    upload_id = s3_client.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(body), MULTIPART_PART_SIZE), start=1):
        chunk = body[start:start + MULTIPART_PART_SIZE]
        etag = s3_client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                     PartNumber=number, Body=chunk)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3_client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})

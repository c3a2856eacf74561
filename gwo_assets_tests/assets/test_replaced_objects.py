"""Issue 19.2: a replaced S3 object never keeps the old content's hashes.

A loaded study, then some objects are re-uploaded in S3 while curators had added hash types
the scrape cannot see. The rerun's PATCH replaces ``hashes`` wholesale (contract 063), so it
must carry exactly what is known of the new bytes for a replaced object, and keep every
stored type for an unchanged one. Assertions read the sandbox with plain ``requests``.
"""

import hashlib
import zlib

import pytest
import requests

from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.support import run_ingest, stored_files

PART = 5 * 1024 * 1024  # S3's (and moto's) minimum size of every part but the last


@pytest.fixture
def stack(tmp_path):
    with SandboxStack(specimens=6, seed=19, workdir=tmp_path / "sandbox") as running:
        yield running


def multipart_upload(s3, bucket: str, key: str, body: bytes) -> str:
    """Re-upload ``body`` in parts, as a workflow's multipart copy would; returns the ETag."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(body), PART), start=1):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                              Body=body[start:start + PART])["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                 MultipartUpload={"Parts": parts})
    return s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"').lower()


def single_part_hashes(body: bytes) -> dict:
    """The hashes S3 tells of a single-part upload (boto3 sends a CRC32 checksum by default)."""
    md5 = hashlib.md5(body).hexdigest()
    return {"md5": md5, "etag": md5, "crc": f"{zlib.crc32(body):08x}"}


def patch(url: str, kf_id: str, body: dict) -> None:
    answer = requests.patch(f"{url}/genomic-files/{kf_id}", json=body, timeout=10)
    assert answer.ok, answer.text


def test_replaced_objects_get_exactly_the_new_contents_hashes(stack, tmp_path):
    url, bucket, s3 = stack.info["dataservice_url"], stack.study.bucket, stack.s3.client()
    assert run_ingest(stack.info, tmp_path / "first", dry_run=False).success
    single_part = [h for h in stack.study.harmonized
                   if not h.multipart and h.storage_class == "STANDARD" and not h.md5_metadata]
    to_multipart, curated, hidden, untouched = single_part[:4]
    records = {h.filepath: stored_files(url, h.filepath)[0] for h in single_part[:4]}
    for harmonized in single_part[:4]:  # what the first run stored: every hash S3 tells
        body = s3.get_object(Bucket=bucket, Key=harmonized.key)["Body"].read()
        assert records[harmonized.filepath]["hashes"] == single_part_hashes(body)

    # 1. single-part (md5 known) -> multipart: the old md5 must not stay beside the -N ETag.
    new_multipart = b"m" * (PART + 100)
    multipart_etag = multipart_upload(s3, bucket, to_multipart.key, new_multipart)
    # 2. a curator's sha256 of the old bytes; then the object is rewritten, same size.
    old_bytes = s3.get_object(Bucket=bucket, Key=curated.key)["Body"].read()
    patch(url, records[curated.filepath]["kf_id"], {"hashes": {
        **records[curated.filepath]["hashes"], "sha256": hashlib.sha256(old_bytes).hexdigest()}})
    rewritten = bytes(byte ^ 0xFF for byte in old_bytes)
    s3.put_object(Bucket=bucket, Key=curated.key, Body=rewritten)
    # 3. a hidden file whose object is replaced by a multipart upload.
    patch(url, records[hidden.filepath]["kf_id"], {"visible": False,
                                                   "visibility_reason": "Sample Issue"})
    new_hidden = b"h" * (PART + 7)
    hidden_etag = multipart_upload(s3, bucket, hidden.key, new_hidden)
    # 4. control: a curated type on an unchanged object is kept.
    kept_hashes = {**records[untouched.filepath]["hashes"], "sha512": "d" * 128}
    patch(url, records[untouched.filepath]["kf_id"], {"hashes": kept_hashes})

    stack.dataservice.reset_counts()
    result = run_ingest(stack.info, tmp_path / "second", dry_run=False)

    assert result.success  # the read-back found what the plan expected
    assert stack.dataservice.request_counts().get("PATCH /genomic-files") == 3
    assert multipart_etag.endswith("-2") and hidden_etag.endswith("-2")
    cases = {"single-part -> multipart": to_multipart, "curated sha256, object rewritten": curated,
             "hidden, object replaced": hidden, "curated sha512, object unchanged": untouched}
    stored = {case: stored_files(url, h.filepath)[0] for case, h in cases.items()}
    assert {case: (r["size"], r["visible"], r["hashes"]) for case, r in stored.items()} == {
        "single-part -> multipart": (len(new_multipart), True, {"etag": multipart_etag}),
        "curated sha256, object rewritten": (len(old_bytes), True, single_part_hashes(rewritten)),
        "hidden, object replaced": (len(new_hidden), False, {"etag": hidden_etag}),
        "curated sha512, object unchanged": (records[untouched.filepath]["size"], True, kept_hashes),
    }

    stack.dataservice.reset_counts()
    assert run_ingest(stack.info, tmp_path / "third", dry_run=False).success
    assert not stack.dataservice.request_counts().get("PATCH /genomic-files")  # settled: no flip-flop

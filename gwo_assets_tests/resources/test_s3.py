"""S3Resource and object metadata scraping, against moto's in-process mock_aws."""

import base64
import hashlib
import socket
from collections import Counter

import pandas as pd
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from gwo_assets.errors import S3AccessError
from gwo_assets.core.payloads import genomic_file_payloads
from gwo_assets.resources.s3 import (METADATA_COLUMNS, S3Resource, object_row, read_object_bytes,
                                     scrape_objects)

BUCKET = "gwo-harmonized"
PART = 5 * 1024 * 1024


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(aws_credentials):
    with mock_aws():
        client = S3Resource().get_client()
        client.create_bucket(Bucket=BUCKET)
        yield client


def count_calls(client) -> Counter:
    """Operations the client actually sends, counted by a botocore event hook."""
    calls: Counter = Counter()
    client.meta.events.register("before-call.s3.*",
                                lambda model, **_: calls.update([model.name]))
    return calls


def put_multipart(client, key: str, metadata: dict | None = None) -> None:
    upload = client.create_multipart_upload(Bucket=BUCKET, Key=key, Metadata=metadata or {})
    parts = []
    for number, body in enumerate([b"a" * PART, b"b"], start=1):
        etag = client.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                                  PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    client.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})


def uri(key: str) -> str:
    return f"s3://{BUCKET}/{key}"


def test_rows_hold_size_etag_md5_checksums_and_storage_class(s3):
    s3.put_object(Bucket=BUCKET, Key="h/single.cram", Body=b"hello", ChecksumAlgorithm="SHA256")
    put_multipart(s3, "h/multi_md5.cram", {"md5": "0C2F2D7A0F8F4C1B8A3E6B6F0D7C9E11"})
    put_multipart(s3, "h/multi_bare.cram")
    s3.put_object(Bucket=BUCKET, Key="h/cold.cram", Body=b"x", StorageClass="GLACIER")
    s3.put_object(Bucket=BUCKET, Key="h/deep.cram", Body=b"y", StorageClass="DEEP_ARCHIVE")
    s3.put_object(Bucket=BUCKET, Key="h/instant.cram", Body=b"z", StorageClass="GLACIER_IR")
    uris = [uri(f"h/{name}.cram") for name in
            ("single", "multi_md5", "multi_bare", "cold", "deep", "instant", "absent")]
    progress = []

    frame, stats = scrape_objects(s3, uris + uris[:1], max_workers=4,
                                  on_progress=lambda done, total: progress.append((done, total)))

    assert list(frame.columns) == list(METADATA_COLUMNS)
    rows = frame.set_index("filepath").to_dict("index")
    assert list(rows) == uris
    single = rows[uri("h/single.cram")]
    assert single["size"] == 5 and single["exists"] is True
    assert single["etag"] == single["md5"] == hashlib.md5(b"hello").hexdigest()
    assert single["checksum_sha256"] == "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
    assert single["storage_class"] == "STANDARD"
    multi = rows[uri("h/multi_md5.cram")]
    assert multi["etag"].endswith("-2") and multi["etag"] == multi["etag"].lower()
    assert multi["md5"] == "0c2f2d7a0f8f4c1b8a3e6b6f0d7c9e11" and multi["size"] == PART + 1
    assert rows[uri("h/multi_bare.cram")]["md5"] is None
    assert [rows[uri(f"h/{n}.cram")]["storage_class"] for n in ("cold", "deep", "instant")] == [
        "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"]
    absent = rows[uri("h/absent.cram")]
    assert (absent["exists"], absent["size"], absent["error"]) == (False, None, "NoSuchKey")
    assert stats == {"requests": {"HEAD": 7}, "objects": 7, "found": 6, "missing": 1, "cold": 2,
                     "total_bytes": 5 + 2 * (PART + 1) + 3}
    assert progress[-1] == (7, 7)


def test_scraped_metadata_does_not_depend_on_how_many_files_share_a_directory(s3):
    """A directory of 60 manifest files gives each the row it gets when scraped alone.

    LIST carries no checksums, user metadata, encryption or archive status: a rerun
    whose manifest crossed a LIST threshold would PATCH other hashes than the last one.
    """
    keys = [f"big/sample_{i:03}.g.vcf.gz" for i in range(60)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode(), ChecksumAlgorithm="SHA256")
    s3.put_object(Bucket=BUCKET, Key="big/kms.cram", Body=b"k", ServerSideEncryption="aws:kms")
    put_multipart(s3, "big/sample_zz.cram", {"md5": "ab" * 16})
    s3.put_object(Bucket=BUCKET, Key="big/unrelated.txt", Body=b"not in the manifest")
    uris = [uri(key) for key in keys + ["big/kms.cram", "big/sample_zz.cram", "big/gone.cram"]]

    calls = count_calls(s3)
    together, stats = scrape_objects(s3, uris, max_workers=4)
    alone = pd.concat([scrape_objects(s3, [one], max_workers=1)[0] for one in uris],
                      ignore_index=True)

    assert together.equals(alone)
    rows = together.set_index("filepath")
    assert rows.loc[uri(keys[0]), "checksum_sha256"] == base64.b64encode(
        hashlib.sha256(keys[0].encode()).digest()).decode()
    assert rows.loc[uri("big/kms.cram"), "md5"] is None
    assert rows.loc[uri("big/sample_zz.cram"), "md5"] == "ab" * 16
    assert not rows.loc[uri("big/gone.cram"), "exists"]
    assert stats["requests"] == {"HEAD": len(uris)} and calls["HeadObject"] == 2 * len(uris)


def test_an_sse_kms_etag_is_never_stored_as_md5(s3):
    """SSE-KMS ETags are not the content's MD5 (moto happens to return the MD5: real S3 does
    not); the md5 user metadata is, when present. SSE-S3 (AES256) ETags are MD5s."""
    md5 = hashlib.md5(b"hello").hexdigest()
    s3.put_object(Bucket=BUCKET, Key="e/kms.cram", Body=b"hello", ServerSideEncryption="aws:kms")
    s3.put_object(Bucket=BUCKET, Key="e/kms_md5.cram", Body=b"hello",
                  ServerSideEncryption="aws:kms", Metadata={"md5": md5.upper()})
    s3.put_object(Bucket=BUCKET, Key="e/sse_s3.cram", Body=b"hello", ServerSideEncryption="AES256")
    names = ("kms", "kms_md5", "sse_s3")
    uris = [uri(f"e/{name}.cram") for name in names]

    frame, _ = scrape_objects(s3, uris, max_workers=2)
    bodies = genomic_file_payloads(
        pd.DataFrame({"row": [2, 3, 4], "filepath": uris, "data_type": "Aligned Reads",
                      "workflow_type": "Alignment", "cavatica_id": None}), frame, pd.DataFrame())

    hashes = dict(zip(names, bodies["hashes"]))
    assert {name: {k: v for k, v in found.items() if k in ("md5", "etag")}
            for name, found in hashes.items()} == {
        "kms": {"etag": md5}, "kms_md5": {"md5": md5, "etag": md5},
        "sse_s3": {"md5": md5, "etag": md5}}


@pytest.mark.parametrize("head, expected", [
    ({"ServerSideEncryption": "aws:kms"}, {"md5": None, "server_side_encryption": "aws:kms"}),
    ({"ServerSideEncryption": "aws:kms:dsse"}, {"md5": None}),
    ({"SSECustomerAlgorithm": "AES256"}, {"md5": None, "server_side_encryption": "SSE-C"}),
    ({"SSECustomerAlgorithm": "AES256", "Metadata": {"md5": "AB" * 16}}, {"md5": "ab" * 16}),
    ({"ServerSideEncryption": "AES256"}, {"md5": "5d41402abc4b2a76b9719d911017c592"}),
    ({"StorageClass": "INTELLIGENT_TIERING", "ArchiveStatus": "DEEP_ARCHIVE_ACCESS"},
     {"storage_class": "INTELLIGENT_TIERING", "archive_status": "DEEP_ARCHIVE_ACCESS"}),
    ({}, {"storage_class": "STANDARD", "archive_status": None, "server_side_encryption": None}),
], ids=["sse-kms", "dsse-kms", "sse-c", "sse-c-md5-metadata", "sse-s3", "archived", "plain"])
def test_a_head_response_becomes_a_row_without_trusting_an_encrypted_etag(head, expected):
    """Cases moto cannot produce (SSE-C, ArchiveStatus), on the HEAD answer itself."""
    answer = {"ContentLength": 5, "ETag": '"5D41402ABC4B2A76B9719D911017C592"', **head}
    row = object_row(uri("h/x.cram"), BUCKET, "h/x.cram", answer)
    assert row["etag"] == "5d41402abc4b2a76b9719d911017c592" and row["exists"] is True
    assert {name: row[name] for name in expected} == expected


def test_a_missing_bucket_raises_naming_the_bucket(s3):
    with pytest.raises(S3AccessError, match="bucket 'no-such-bucket' does not exist"):
        scrape_objects(s3, ["s3://no-such-bucket/a/b.cram", "s3://no-such-bucket/a/c.cram"],
                       max_workers=2)


def test_a_missing_bucket_behind_bodiless_404s_is_told_apart_from_missing_objects(s3):
    def bodiless_404(**_):
        raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

    s3.meta.events.register("before-call.s3.HeadObject", bodiless_404)

    frame, stats = scrape_objects(s3, [uri("a/gone.cram")], max_workers=1)
    assert not frame["exists"].any() and stats["requests"] == {"HEAD": 1, "HEAD_BUCKET": 1}
    with pytest.raises(S3AccessError, match="bucket 'no-such-bucket' does not exist"):
        scrape_objects(s3, ["s3://no-such-bucket/a/b.cram"], max_workers=1)


def test_every_object_denied_raises_instead_of_a_table_of_403s(s3):
    for key in ("d/one.cram", "d/two.cram"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"1")

    def forbidden(params, **_):
        if params["Key"] != "d/open.cram":
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    s3.meta.events.register("before-parameter-build.s3.HeadObject", forbidden)
    with pytest.raises(S3AccessError, match=f"every object in S3 bucket '{BUCKET}' was denied"):
        scrape_objects(s3, [uri("d/one.cram"), uri("d/two.cram")], max_workers=2)

    s3.put_object(Bucket=BUCKET, Key="d/open.cram", Body=b"1")
    frame, _ = scrape_objects(s3, [uri("d/one.cram"), uri("d/open.cram")], max_workers=2)
    assert frame["error"].tolist() == ["AccessDenied", None]


def test_rejected_credentials_raise_naming_the_settings(s3):
    def expired(**_):
        raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "HeadObject")

    s3.meta.events.register("before-call.s3.HeadObject", expired)
    with pytest.raises(S3AccessError, match="ExpiredToken.*AWS_PROFILE.*`profile_name`"):
        scrape_objects(s3, [uri("x/a.cram"), uri("x/b.cram")], max_workers=1)


def test_missing_credentials_raise_naming_the_settings(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = S3Resource(endpoint_url="http://127.0.0.1:9").get_client()

    with pytest.raises(S3AccessError, match="AWS_PROFILE.*AWS_ACCESS_KEY_ID.*`profile_name`"):
        scrape_objects(client, [uri("a/b.cram")], max_workers=1)


def test_an_unreachable_endpoint_raises_naming_endpoint_url(aws_credentials):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = S3Resource(endpoint_url=endpoint).get_client()

    with pytest.raises(S3AccessError, match=f"{endpoint}.*`endpoint_url`"):
        scrape_objects(client, [uri("a/b.cram")], max_workers=1)


def test_an_unknown_profile_raises_naming_profile_name(aws_credentials, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(S3AccessError, match="'nobody'.*`profile_name`"):
        S3Resource(profile_name="nobody").get_client()


def test_read_object_bytes_reads_a_manifest_and_names_a_missing_one(s3):
    s3.put_object(Bucket=BUCKET, Key="manifests/gwo.tsv", Body=b"Filepath\n")

    assert read_object_bytes(s3, uri("manifests/gwo.tsv")) == b"Filepath\n"
    with pytest.raises(S3AccessError, match="gwo-harmonized/manifests/nope.tsv does not exist"):
        read_object_bytes(s3, uri("manifests/nope.tsv"))


def test_the_client_pool_matches_max_concurrency(aws_credentials):
    client = S3Resource(max_concurrency=32, region_name="eu-west-1").get_client()
    assert client.meta.config.max_pool_connections == 32
    assert client.meta.region_name == "eu-west-1"

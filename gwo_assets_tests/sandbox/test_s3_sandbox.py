"""SandboxS3: a moto server on loopback that behaves like S3 for our scraping needs."""

import hashlib
import socket

import pytest

from gwo_assets.sandbox.s3 import SandboxS3


@pytest.fixture(scope="module")
def s3():
    with SandboxS3() as server:
        yield server


@pytest.fixture
def client(s3):
    client = s3.client()
    client.create_bucket(Bucket="sandbox-test")
    return client


def test_free_port_and_endpoint(s3):
    assert s3.port > 0
    assert s3.endpoint_url == f"http://127.0.0.1:{s3.port}"


def test_put_then_head_reports_size_md5_etag_and_metadata(client):
    body = b"harmonized bytes"
    client.put_object(Bucket="sandbox-test", Key="harmonized/a.cram", Body=body,
                      Metadata={"md5": hashlib.md5(body).hexdigest()})

    head = client.head_object(Bucket="sandbox-test", Key="harmonized/a.cram")

    assert head["ContentLength"] == len(body)
    assert head["ETag"].strip('"') == hashlib.md5(body).hexdigest()
    assert head["Metadata"] == {"md5": hashlib.md5(body).hexdigest()}


def test_multipart_etag_has_part_count(client):
    key = "harmonized/big.cram"
    upload_id = client.create_multipart_upload(Bucket="sandbox-test", Key=key)["UploadId"]
    chunks = [b"a" * (5 * 1024 * 1024), b"tail"]
    parts = [
        {"PartNumber": n, "ETag": client.upload_part(Bucket="sandbox-test", Key=key, UploadId=upload_id,
                                                     PartNumber=n, Body=chunk)["ETag"]}
        for n, chunk in enumerate(chunks, start=1)
    ]
    client.complete_multipart_upload(Bucket="sandbox-test", Key=key, UploadId=upload_id,
                                     MultipartUpload={"Parts": parts})

    head = client.head_object(Bucket="sandbox-test", Key=key)

    assert head["ETag"].strip('"').endswith("-2")
    assert head["ContentLength"] == sum(len(c) for c in chunks)


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
def test_storage_class_is_reported(client, storage_class):
    client.put_object(Bucket="sandbox-test", Key=f"cold/{storage_class}", Body=b"x",
                      StorageClass=storage_class)

    head = client.head_object(Bucket="sandbox-test", Key=f"cold/{storage_class}")

    assert head["StorageClass"] == storage_class


def test_client_ignores_the_users_aws_profile(s3, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)

    assert s3.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_busy_port_raises_and_stop_frees_the_port():
    with SandboxS3() as first:
        with pytest.raises(OSError):
            SandboxS3(port=first.port).start()
        port = first.port
    with socket.create_server(("127.0.0.1", port)):
        pass


def test_a_latency_delays_every_answer_as_a_remote_s3_would():
    """``latency_ms`` (the bench's remote-S3 emulation) delays answers, in parallel."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    with SandboxS3(latency_ms=200) as s3:
        client = s3.client()
        client.create_bucket(Bucket="latency-bucket")
        client.put_object(Bucket="latency-bucket", Key="k", Body=b"x")
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            heads = list(pool.map(lambda _: client.head_object(Bucket="latency-bucket", Key="k"),
                                  range(8)))
        elapsed = time.perf_counter() - started
    assert all(head["ContentLength"] == 1 for head in heads)
    assert 0.2 <= elapsed < 8 * 0.2  # each waited, not one after another

"""core/drift.py: one DataService record + its S3 HEAD row -> one class (pure, no I/O)."""

import pytest

from gwo_assets.core.drift import audited_url, bucket_warnings, classify, counts

URL = "s3://bucket-a/h/a.cram"
MD5 = "0" * 31 + "1"


def record(**fields):
    return {"kf_id": "GF_00000001", "external_id": URL, "urls": [URL], "visible": True,
            "size": 10, "hashes": {"md5": MD5, "etag": MD5},
            "availability": "Immediate Download", **fields}


def head(**fields):
    return {"filepath": URL, "exists": True, "size": 10, "etag": MD5, "md5": MD5,
            "storage_class": "STANDARD", "archive_status": None, "error": None, **fields}


def one(rec=None, s3=None):
    frame = classify([rec or record()], {URL: s3 or head()} if s3 is not False else {})
    return frame.iloc[0]


def test_an_agreeing_file_is_ok():
    assert one()["status"] == "ok" and one()["problems"] == []


@pytest.mark.parametrize("s3, detail", [
    (head(size=11), "size 10 -> 11"),
    (head(etag="f" * 32, md5="f" * 32), "md5 " + MD5 + " -> " + "f" * 32),
])
def test_size_or_hash_differing_is_changed(s3, detail):
    row = one(s3=s3)
    assert row["status"] == "changed" and detail in row["detail"]


def test_md5_is_compared_only_when_s3_knows_it():
    multipart = head(etag=MD5[:-1] + "2-3", md5=None)  # a multipart ETag: no md5 from S3
    stored = record(hashes={"md5": MD5, "etag": MD5[:-1] + "2-3"})
    assert one(stored, multipart)["status"] == "ok"


def test_nothing_stored_to_compare_is_changed_as_the_ingest_would_patch_it():
    assert one(record(hashes={}, size=None))["status"] == "changed"


@pytest.mark.parametrize("storage_class, archive_status, availability, status", [
    ("GLACIER", None, "Immediate Download", "availability_wrong"),
    ("DEEP_ARCHIVE", None, "Immediate Download", "availability_wrong"),
    ("INTELLIGENT_TIERING", "ARCHIVE_ACCESS", "Immediate Download", "availability_wrong"),
    ("INTELLIGENT_TIERING", None, "Immediate Download", "ok"),
    ("GLACIER_IR", None, "Immediate Download", "ok"),
    ("STANDARD", None, "Cold Storage", "availability_wrong"),  # restored, record still cold
    ("GLACIER", None, "Cold Storage", "ok"),
])
def test_availability_follows_the_ingests_cold_storage_rule(storage_class, archive_status,
                                                            availability, status):
    row = one(record(availability=availability),
              head(storage_class=storage_class, archive_status=archive_status))
    assert row["status"] == status


def test_missing_denied_and_failing_heads():
    assert one(s3=head(exists=False, error="NoSuchKey", size=None))["status"] == "object_gone"
    denied = one(s3=head(exists=False, error="AccessDenied"))
    assert denied["status"] == "unreadable" and "403 AccessDenied" in denied["detail"]
    slow = one(s3=head(exists=False, error="SlowDown: please reduce your request rate"))
    assert slow["status"] == "unreadable" and "SlowDown" in slow["detail"]
    assert one(s3=False)["status"] == "unreadable"  # never HEADed


def test_a_reupload_into_glacier_has_both_problems_and_the_first_is_its_status():
    row = one(s3=head(size=99, storage_class="GLACIER"))
    assert row["status"] == "changed" and row["problems"] == ["changed", "availability_wrong"]


def test_hidden_files_are_not_judged_and_urls_fall_back_to_external_id():
    assert one(record(visible=False), False)["status"] == "hidden"
    assert audited_url({"urls": ["drs://x", URL]}) == URL
    assert audited_url({"urls": [], "external_id": URL}) == URL
    no_url = one(record(urls=["drs://x"], external_id="x.cram"), False)
    assert no_url["status"] == "unreadable" and "no s3:// URL" in no_url["detail"]


def test_counts_name_every_class():
    assert counts(classify([record()], {URL: head()})) == {
        "ok": 1, "hidden": 0, "object_gone": 0, "unreadable": 0, "changed": 0,
        "availability_wrong": 0}


def test_a_bucket_where_nothing_is_readable_is_flagged_as_a_setup_problem():
    other = "s3://bucket-b/h/b.cram"
    frame = classify([record(), record(kf_id="GF_00000002", external_id=other, urls=[other])],
                     {URL: head(), other: head(filepath=other, exists=False, error="NoSuchKey")})
    [warning] = bucket_warnings(frame)
    assert "'bucket-b'" in warning and "endpoint_url" in warning
    assert bucket_warnings(classify([record()], {URL: head()})) == []

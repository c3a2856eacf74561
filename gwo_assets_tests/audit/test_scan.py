"""audit/scan.py with fakes at its two boundaries: the study read and the HEADs overlap (a
page's objects are HEADed while the next page is read), HEADs stay within max_heads, the
read asks for harmonized files of the study only, and a broken S3 environment stops it."""

import threading
import time

import pytest

from gwo_assets.audit.scan import scan_study
from gwo_assets.errors import S3AccessError
from botocore.exceptions import ClientError, NoCredentialsError


def record(i: int, visible: bool = True) -> dict:
    url = f"s3://bucket-a/h/{i}.cram"
    return {"kf_id": f"GF_{i:08d}", "external_id": url, "urls": [url], "visible": visible}


class FakeDataService:
    def __init__(self, pages, between_pages=lambda: None):
        self.pages, self.between_pages, self.params = pages, between_pages, None

    def get(self, endpoint, kf_id):
        return {"kf_id": kf_id} if endpoint == "/studies" else None

    def list_all(self, endpoint, params, on_page=None, on_records=None):
        self.params = (endpoint, params)
        for number, page in enumerate(self.pages):
            if number:
                self.between_pages()
            on_records(page)
        return [r for page in self.pages for r in page]

    def request_counts(self):
        return {"GET /studies": 1, "GET /genomic-files": len(self.pages)}


class FakeS3:
    def __init__(self, delay=0.0, error=None):
        self.heads, self.delay, self.error = [], delay, error
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()
        self.first_head = threading.Event()

    def head_object(self, Bucket, Key, ChecksumMode):
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.first_head.set()
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
            self.heads.append(Key)
        if self.error is not None:
            raise self.error
        return {"ETag": '"' + "a" * 32 + '"', "ContentLength": 1}


def test_heads_of_a_page_start_before_the_next_page_is_read_and_stay_bounded():
    s3 = FakeS3(delay=0.01)
    overlapped = []
    dataservice = FakeDataService(
        [[record(i) for i in range(20)], [record(i) for i in range(20, 40)] + [record(99, False)]],
        between_pages=lambda: overlapped.append(s3.first_head.wait(timeout=5)))
    scan = scan_study(dataservice, s3, "SD_0A1B2C3D", max_heads=4)
    assert overlapped == [True]
    assert dataservice.params == ("/genomic-files", {"study_id": "SD_0A1B2C3D",
                                                     "is_harmonized": "true"})
    assert len(scan.records) == 41 and len(s3.heads) == 40  # the hidden file is not HEADed
    assert scan.s3_requests == {"HEAD": 40} and 1 < s3.most_in_flight <= 4


def test_a_missing_credentials_error_stops_the_audit():
    s3 = FakeS3(error=NoCredentialsError())
    with pytest.raises(S3AccessError, match="credentials"):
        scan_study(FakeDataService([[record(1)], [record(2)]]), s3, "SD_0A1B2C3D", max_heads=2)


def test_a_denied_object_is_data_not_an_error():
    s3 = FakeS3(error=ClientError({"Error": {"Code": "403"}}, "HeadObject"))
    scan = scan_study(FakeDataService([[record(1)]]), s3, "SD_0A1B2C3D", max_heads=2)
    assert scan.s3_rows["s3://bucket-a/h/1.cram"]["error"] == "AccessDenied"

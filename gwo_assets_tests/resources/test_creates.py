"""resources/creates.py against `responses`: a create never leads to a second record.

The DataService side is scripted request by request, so each test shows exactly
which requests a create sends after an unclear answer (the sandbox tests in
reliability/test_late_commit.py show the same against a service that commits late).
"""

import json

import pytest
import requests
import responses

from gwo_assets.core.kf_ids import chosen_kf_id
from gwo_assets.errors import DataServiceError, DataServiceUnavailable
from gwo_assets.resources.creates import CreateConflict, create_genomic_file, create_link
from gwo_assets.resources.dataservice_client import DataServiceClient

BASE = "http://dataservice.test"
FILE = {"external_id": "s3://bucket/a.cram", "urls": ["s3://bucket/a.cram"],
        "hashes": {"etag": "0" * 32}, "size": 3, "is_harmonized": True}
KF_ID = chosen_kf_id("GF", FILE["external_id"])
LINK = {"biospecimen_id": "BS_WVYGHZY0", "genomic_file_id": KF_ID}


@pytest.fixture
def client():
    with DataServiceClient(BASE, max_retries=3, backoff_factor=0) as ds:
        yield ds


def single(record: dict, status: int = 200, links: dict | None = None) -> dict:
    return {"_status": {"code": status, "message": "success"}, "results": record,
            "_links": links or {}}


def not_found(kf_id: str) -> dict:
    return {"_status": {"code": 404, "message": f"could not find genomic_file `{kf_id}`"}}


def stored(kf_id: str = KF_ID, **fields) -> dict:
    return {**FILE, "kf_id": kf_id, "created_at": "2026-12-07T00:00:00+00:00", **fields}


def posted_bodies() -> list[dict]:
    return [json.loads(call.request.body) for call in responses.calls
            if call.request.method == "POST"]


def test_the_chosen_kf_id_is_a_stable_gf_id_of_the_external_id():
    assert KF_ID == chosen_kf_id("GF", "s3://bucket/a.cram")
    assert KF_ID.startswith("GF_") and len(KF_ID) == 11
    assert chosen_kf_id("GF", FILE["external_id"], 1) != KF_ID
    assert chosen_kf_id("GF", "s3://bucket/b.cram") != KF_ID


@responses.activate
def test_a_new_file_is_proven_free_then_posted_once_under_its_chosen_kf_id(client):
    responses.get(f"{BASE}/genomic-files/{KF_ID}", status=404, json=not_found(KF_ID))
    responses.post(f"{BASE}/genomic-files", status=201, json=single(stored(), 201))

    created = create_genomic_file(client, FILE)

    assert created.record["kf_id"] == KF_ID and not created.uncertain and not created.existed
    assert posted_bodies() == [{**FILE, "kf_id": KF_ID}]
    assert client.request_counts() == {"GET /genomic-files": 1, "POST /genomic-files": 1}


@responses.activate
def test_a_lost_answer_is_resolved_by_the_kf_id_never_by_a_second_post(client):
    responses.get(f"{BASE}/genomic-files/{KF_ID}", status=404, json=not_found(KF_ID))
    responses.post(f"{BASE}/genomic-files", body=requests.exceptions.ReadTimeout("timed out"))
    responses.get(f"{BASE}/genomic-files/{KF_ID}", json=single(stored()))

    created = create_genomic_file(client, FILE)

    assert created.record["kf_id"] == KF_ID and created.uncertain == 1
    assert len(posted_bodies()) == 1


@responses.activate
def test_a_504_then_nothing_yet_resends_the_same_kf_id_so_a_late_commit_overwrites_it(client):
    """A gateway gave up (504) and the record is not there yet: the re-POST carries the same
    kf_id, so whichever of the two commits last lands on the same record."""
    responses.get(f"{BASE}/genomic-files/{KF_ID}", status=404, json=not_found(KF_ID))
    responses.post(f"{BASE}/genomic-files", status=504, json={"message": "gateway timeout"})
    responses.get(f"{BASE}/genomic-files/{KF_ID}", status=404, json=not_found(KF_ID))
    responses.post(f"{BASE}/genomic-files", status=201, json=single(stored(), 201))

    created = create_genomic_file(client, FILE)

    assert created.record["kf_id"] == KF_ID and created.uncertain == 1
    assert posted_bodies() == [{**FILE, "kf_id": KF_ID}] * 2


@responses.activate
def test_already_exists_after_an_unclear_answer_is_the_earlier_attempt_committing(client):
    responses.get(f"{BASE}/genomic-files/{KF_ID}", status=404, json=not_found(KF_ID))
    responses.post(f"{BASE}/genomic-files", status=502, json={"message": "bad gateway"})
    responses.get(f"{BASE}/genomic-files/{KF_ID}", status=404, json=not_found(KF_ID))
    responses.post(f"{BASE}/genomic-files", status=400, json={"_status": {
        "code": 400, "message": f"could not create genomic_file. one with (kf_id) = ({KF_ID}) "
                                "already exists."}})
    responses.get(f"{BASE}/genomic-files/{KF_ID}", json=single(stored()))

    created = create_genomic_file(client, FILE)

    assert created.record["kf_id"] == KF_ID and created.uncertain == 2


@responses.activate
def test_a_chosen_kf_id_held_by_another_external_id_moves_to_the_next_one(client):
    """A POST of an existing kf_id would silently overwrite that record (contract 122)."""
    second = chosen_kf_id("GF", FILE["external_id"], 1)
    responses.get(f"{BASE}/genomic-files/{KF_ID}",
                  json=single(stored(external_id="s3://other/x.bam")))
    responses.get(f"{BASE}/genomic-files/{second}", status=404, json=not_found(second))
    responses.post(f"{BASE}/genomic-files", status=201, json=single(stored(second), 201))

    created = create_genomic_file(client, FILE)

    assert created.record["kf_id"] == second
    assert posted_bodies() == [{**FILE, "kf_id": second}]


@responses.activate
def test_a_file_linked_by_another_run_after_planning_is_never_overwritten(client):
    responses.get(f"{BASE}/genomic-files/{KF_ID}", json=single(stored()))
    responses.get(f"{BASE}/biospecimen-genomic-files", json={
        "_status": {"code": 200}, "results": [{"kf_id": "BG_00000001", "_links": {
            "biospecimen": "/biospecimens/BS_0THER000", "genomic_file": f"/genomic-files/{KF_ID}"}}],
        "_links": {}, "total": 1, "limit": 1000})

    with pytest.raises(CreateConflict, match=f"{KF_ID}.*BS_0THER000"):
        create_genomic_file(client, FILE)
    assert posted_bodies() == []


@responses.activate
def test_a_linkless_file_another_run_just_posted_is_not_taken_over(client):
    """Between its POST and its biospecimen link another run's file has no link: this run
    must neither overwrite nor reuse it (it would end up linked to two studies)."""
    responses.get(f"{BASE}/genomic-files/{KF_ID}", json=single(stored()))
    responses.get(f"{BASE}/biospecimen-genomic-files", json={
        "_status": {"code": 200}, "results": [], "_links": {}, "total": 0, "limit": 1000})

    with pytest.raises(CreateConflict, match=f"{KF_ID}.*not linked yet.*rerun"):
        create_genomic_file(client, FILE)
    assert posted_bodies() == []


@responses.activate
def test_a_service_that_ignores_the_chosen_kf_id_stops_the_create(client):
    responses.get(f"{BASE}/genomic-files/{KF_ID}", status=404, json=not_found(KF_ID))
    responses.post(f"{BASE}/genomic-files", status=201,
                   json=single(stored("GF_RANDOM00"), 201))

    with pytest.raises(DataServiceError, match="does not honour client-chosen kf_ids"):
        create_genomic_file(client, FILE)


@responses.activate
def test_an_outcome_that_stays_unknown_fails_naming_the_kf_id_a_rerun_will_find():
    responses.get(f"{BASE}/genomic-files/{KF_ID}", status=404, json=not_found(KF_ID))
    responses.post(f"{BASE}/genomic-files", status=503, json={"message": "busy"})
    with DataServiceClient(BASE, max_retries=2, backoff_factor=0) as ds:
        with pytest.raises(DataServiceUnavailable, match=f"kf_id {KF_ID}.*unknown 3 times"):
            create_genomic_file(ds, FILE)
    assert {body["kf_id"] for body in posted_bodies()} == {KF_ID}


@responses.activate
def test_a_link_that_already_exists_is_found_and_not_claimed(client):
    responses.post(f"{BASE}/biospecimen-genomic-files", status=400, json={"_status": {
        "code": 400, "message": "could not create biospecimen_genomic_file. one with "
                                "(genomic_file_id, biospecimen_id) = (...) already exists."}})
    responses.get(f"{BASE}/biospecimen-genomic-files", json={
        "_status": {"code": 200}, "results": [{"kf_id": "BG_00000001", "_links": {}}],
        "_links": {}, "total": 1, "limit": 1000})

    created = create_link(client, "/biospecimen-genomic-files", LINK, "biospecimen_id")

    assert created.existed and created.record["kf_id"] == "BG_00000001"


@responses.activate
def test_a_link_whose_answer_was_lost_is_looked_up_before_any_resend(client):
    responses.post(f"{BASE}/biospecimen-genomic-files",
                   body=requests.exceptions.ConnectionError("dropped"))
    responses.get(f"{BASE}/biospecimen-genomic-files", json={
        "_status": {"code": 200}, "results": [{"kf_id": "BG_00000001", "_links": {}}],
        "_links": {}, "total": 1, "limit": 1000})

    created = create_link(client, "/biospecimen-genomic-files", LINK, "biospecimen_id")

    assert created.uncertain == 1 and not created.existed
    assert len(posted_bodies()) == 1


@responses.activate
def test_a_link_refused_for_a_missing_biospecimen_is_not_retried(client):
    responses.post(f"{BASE}/biospecimen-genomic-files", status=400, json={"_status": {
        "code": 400, "message": 'biospecimens "BS_WVYGHZY0" does not exist'}})

    with pytest.raises(DataServiceError, match="BS_WVYGHZY0"):
        create_link(client, "/biospecimen-genomic-files", LINK, "biospecimen_id")
    assert len(responses.calls) == 1

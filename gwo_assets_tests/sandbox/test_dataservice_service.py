"""The SandboxDataService object: lifecycle, storage and request statistics."""

import os

import pytest
import requests

from gwo_assets.sandbox.dataservice import SandboxDataService


def test_counts_every_request_by_collection_and_only_writes_that_change_state(dataservice, api):
    study_id = api.create("/studies", external_id="phs1")
    api.call("PATCH", f"/studies/{study_id}", json={"name": "Study one"})
    api.call("PATCH", f"/studies/{study_id}", json={"name": "Study one"})  # no change
    api.call("POST", "/studies", json={})  # refused
    api.call("GET", f"/studies/{study_id}")
    api.call("GET", "/status")

    assert dataservice.request_counts() == {"POST /studies": 2, "PATCH /studies": 2,
                                            "GET /studies": 1, "GET /status": 1}
    assert dataservice.write_count() == 2
    assert api.call("GET", "/_sandbox/stats").json() == {
        "requests": dataservice.request_counts(), "writes": 2,
        "unauthorized": 0, "late_commits_pending": 0}

    assert api.call("POST", "/_sandbox/reset-stats").json() == {"requests": {}, "writes": 0,
                                                                 "unauthorized": 0}
    assert dataservice.request_counts() == {} and dataservice.write_count() == 0
    api.call("DELETE", f"/studies/{study_id}")
    dataservice.reset_counts()
    assert dataservice.request_counts() == {}


def test_an_unchanged_patch_keeps_modified_at(api):
    study_id = api.create("/studies", external_id="phs1", name="one")
    before = api.call("GET", f"/studies/{study_id}").json()["results"]

    after = api.call("PATCH", f"/studies/{study_id}", json={"name": "one"}).json()["results"]

    assert after == before


def test_a_named_database_survives_a_restart(tmp_path):
    db_path = str(tmp_path / "dataservice.sqlite3")
    with SandboxDataService(db_path=db_path) as service:
        study_id = requests.post(f"{service.url}/studies", json={"external_id": "phs1"},
                                 timeout=30).json()["results"]["kf_id"]

    with SandboxDataService(db_path=db_path) as service:
        response = requests.get(f"{service.url}/studies/{study_id}", timeout=30)

    assert response.status_code == 200
    assert os.path.exists(db_path)


def test_a_temporary_database_is_removed_on_stop():
    service = SandboxDataService().start()
    db_path = service.db_path
    assert os.path.exists(db_path)

    service.stop()

    assert not os.path.exists(db_path)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{service.url}/status", timeout=5)


def test_stop_closes_idle_keep_alive_connections():
    with requests.Session() as session:
        service = SandboxDataService().start()
        assert session.get(f"{service.url}/status", timeout=5).ok  # the connection stays open

        service.stop()  # returns although the client still holds the connection

        with pytest.raises(requests.ConnectionError):
            session.get(f"{service.url}/status", timeout=5)


def test_counts_need_a_started_service():
    with pytest.raises(RuntimeError, match="start"):
        SandboxDataService().request_counts()

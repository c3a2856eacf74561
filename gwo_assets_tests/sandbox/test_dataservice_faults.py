"""Fault injection: seeded errors before any work, and lost responses after the work."""

import pytest
import requests

from gwo_assets.sandbox.dataservice import FaultConfig, SandboxDataService


def _statuses(faults: FaultConfig, requests_made: int = 40) -> list[int]:
    """The status of each of the same POST/GET sequence against a fresh sandbox."""
    statuses = []
    with SandboxDataService(faults=faults) as service, requests.Session() as session:
        for i in range(requests_made):
            if i % 2:
                response = session.get(f"{service.url}/studies", timeout=30)
            else:
                response = session.post(f"{service.url}/studies",
                                        json={"external_id": f"phs{i}"}, timeout=30)
            statuses.append(response.status_code)
    return statuses


def test_the_same_seed_and_request_order_give_the_same_faults():
    faults = FaultConfig(error_rate=0.3, seed=7)

    first, second = _statuses(faults), _statuses(faults)

    assert first == second
    assert {500, 503} <= set(first) and {200, 201} <= set(first)
    assert _statuses(FaultConfig(error_rate=0.3, seed=8)) != first


def test_an_injected_error_comes_before_any_work(dataservice, api):
    dataservice.set_faults(FaultConfig(error_rate=1.0, error_statuses=(429,), methods=("POST",)))

    response = api.call("POST", "/studies", json={"external_id": "phs1"})

    assert response.status_code == 429
    assert response.json() == {"_status": {"code": 429, "message": "Too Many Requests"}}
    assert api.list("/studies")["total"] == 0  # GET is not in methods: answered normally
    assert dataservice.write_count() == 0
    assert dataservice.request_counts() == {"POST /studies": 1, "GET /studies": 1}


def test_a_lost_response_still_performs_the_write(dataservice, api):
    dataservice.set_faults(FaultConfig(lost_response_rate=1.0, methods=("POST",)))

    with pytest.raises(requests.ConnectionError):
        api.call("POST", "/studies", json={"external_id": "phs1"})

    studies = api.list("/studies")
    assert [s["external_id"] for s in studies["results"]] == ["phs1"]
    assert dataservice.write_count() == 1


def test_faults_can_be_switched_over_http(dataservice, api):
    switched = api.call("POST", "/_sandbox/faults", json={"error_rate": 1, "methods": ["GET"]})
    assert switched.json() == {"faults": {"error_rate": 1, "methods": ["GET"]}}
    assert api.call("GET", "/studies").status_code in (500, 503)

    api.call("POST", "/_sandbox/faults", json={})
    assert api.call("GET", "/studies").status_code == 200
    refused = api.call("POST", "/_sandbox/faults", json={"error_rat": 1})
    assert refused.status_code == 400


def test_a_late_commit_answers_504_at_once_and_commits_the_same_request_later():
    """What a gateway in front of a slow DataService does: the client hears 504, the write
    still happens seconds later (and counts as a write then, not before)."""
    import time

    import requests

    from gwo_assets.sandbox.dataservice import FaultConfig, SandboxDataService

    with SandboxDataService() as dataservice:
        dataservice.set_faults(FaultConfig(late_commit_rate=1.0, late_commit_seconds=0.5,
                                           methods=("POST",)))
        answer = requests.post(f"{dataservice.url}/studies", json={"external_id": "late"},
                               timeout=10)
        assert answer.status_code == 504
        assert dataservice.late_commits_pending() == 1 and dataservice.write_count() == 0
        assert requests.get(f"{dataservice.url}/studies", timeout=10).json()["total"] == 0
        time.sleep(0.1)
        dataservice.wait_for_late_commits(timeout=5)
        dataservice.set_faults(None)
        studies = requests.get(f"{dataservice.url}/studies", timeout=10).json()
        assert [s["external_id"] for s in studies["results"]] == ["late"]
        assert dataservice.write_count() == 1

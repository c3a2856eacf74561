"""DataServiceClient against `responses` (and one closed loopback port)."""

import json
import socket
import socketserver
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from gwo_assets.errors import DataServiceAuthError, DataServiceError, DataServiceUnavailable
from gwo_assets.resources.dataservice_client import DataServiceClient, flatten_record
from gwo_assets_tests.fixtures import DATASERVICE_CONTRACT

BASE = "http://dataservice.test"
SENTINEL_TOKEN = "SENTINEL-TOKEN-9f3c"
CONTRACT = DATASERVICE_CONTRACT


@pytest.fixture
def client():
    with DataServiceClient(BASE, SENTINEL_TOKEN, page_size=2, backoff_factor=0) as ds:
        yield ds


def query_of(call) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


def link_item(kf_id: str, **links: str | None) -> dict:
    return {"kf_id": kf_id, "visible": True,
            "_links": {"self": f"/biospecimen-genomic-files/{kf_id}", **links}}


def page(results: list[dict], next_link: str | None = None, total: int = 5) -> dict:
    links = {"self": "/biospecimen-genomic-files?study_id=SD_BXR0DYT8"}
    if next_link:
        links["next"] = next_link
    return {"_status": {"code": 200, "message": "success"}, "results": results,
            "_links": links, "total": total, "limit": 2}


def error_body(status: int, message: str) -> dict:
    return {"_status": {"code": status, "message": message}}


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- pagination ---------------------------------------------------------------------


@responses.activate
def test_list_all_resends_filters_and_limit_and_takes_only_the_cursor_from_next(client):
    url = f"{BASE}/biospecimen-genomic-files"
    next_1 = "/biospecimen-genomic-files?after=100.5&after_uuid=u-1&study_id=SD_BXR0DYT8"
    next_2 = "/biospecimen-genomic-files?after=200.5&after_uuid=u-2&study_id=SD_BXR0DYT8"
    responses.get(url, json=page([link_item("BG_00000001"), link_item("BG_00000002")], next_1))
    responses.get(url, json=page([link_item("BG_00000003"), link_item("BG_00000004")], next_2))
    responses.get(url, json=page([link_item("BG_00000005")]))
    progress = []

    rows = client.list_all("/biospecimen-genomic-files",
                           {"study_id": "SD_BXR0DYT8", "visible": "true"},
                           on_page=lambda n, total: progress.append((n, total)))

    assert [row["kf_id"] for row in rows] == [f"BG_0000000{i}" for i in range(1, 6)]
    queries = [query_of(call) for call in responses.calls]
    assert all(q["study_id"] == "SD_BXR0DYT8" and q["visible"] == "true" and q["limit"] == "2"
               for q in queries)
    assert "after" not in queries[0]
    assert (queries[1]["after"], queries[1]["after_uuid"]) == ("100.5", "u-1")
    assert (queries[2]["after"], queries[2]["after_uuid"]) == ("200.5", "u-2")
    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert client.request_counts() == {"GET /biospecimen-genomic-files": 3}


@responses.activate
def test_list_all_replays_the_recorded_exact_multiple_ending_on_an_empty_page(client):
    """Files 034, 036, 037: 4 matches at limit 2, the third page is empty with no next."""
    for name in ("034", "036", "037"):
        recorded = json.loads(next(CONTRACT.glob(f"{name}-*.json")).read_text())
        recorded_query = parse_qs(urlsplit(recorded["request"]["path"]).query)
        responses.get(
            f"{BASE}/genomic-files",
            match=[responses.matchers.query_param_matcher(
                {key: values[0] for key, values in recorded_query.items()})],
            json=recorded["response"]["body"])

    rows = client.list_all("/genomic-files", {"study_id": "SD_BXR0DYT8",
                                              "is_harmonized": "false", "visible": "true"})

    assert len(responses.calls) == 3
    assert len(rows) == 4 and not any(row["is_harmonized"] for row in rows)
    assert all("_links" not in row for row in rows)


@responses.activate
def test_list_all_refuses_a_next_link_that_does_not_advance(client):
    stuck = "/genomic-files?after=1.0&after_uuid=u&study_id=SD_BXR0DYT8"
    responses.get(f"{BASE}/genomic-files", json=page([{"kf_id": "GF_00000001"}] * 2, stuck))

    with pytest.raises(DataServiceError, match="unusable next link"):
        client.list_all("/genomic-files", {"study_id": "SD_BXR0DYT8"})
    assert len(responses.calls) == 2


def test_list_all_rejects_params_it_owns_and_the_kf_id_filter(client):
    with pytest.raises(ValueError, match="kf_id"):
        client.list_all("/genomic-files", {"kf_id": "GF_00000001"})
    with pytest.raises(ValueError, match="limit"):
        client.list_all("/genomic-files", {"limit": 5})


def test_flatten_record_turns_relation_links_into_ids_and_drops_the_rest():
    item = link_item("BG_00000001", biospecimen="/biospecimens/BS_AAAAAAAA",
                     genomic_file="/genomic-files/GF_BBBBBBBB", collection="/x")
    item["_links"]["participant"] = None

    record = flatten_record(item)

    assert record == {"kf_id": "BG_00000001", "visible": True, "biospecimen_id": "BS_AAAAAAAA",
                      "genomic_file_id": "GF_BBBBBBBB", "participant_id": None}


# -- single records -------------------------------------------------------------------


@responses.activate
def test_get_flattens_top_level_links_and_sends_the_bearer_token(client):
    responses.get(f"{BASE}/biospecimens/BS_WVYGHZY0", json={
        "_status": {"code": 200, "message": "success"},
        "results": {"kf_id": "BS_WVYGHZY0"},
        "_links": {"participant": "/participants/PT_T048NR63", "sample": None}})

    assert client.get("biospecimens", "BS_WVYGHZY0") == {"kf_id": "BS_WVYGHZY0",
                                                         "participant_id": "PT_T048NR63"}
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {SENTINEL_TOKEN}"


@responses.activate
def test_get_returns_none_on_404_and_validates_the_kf_id_before_sending(client):
    responses.get(f"{BASE}/genomic-files/GF_00000000", status=404,
                  json=error_body(404, "could not find genomic_file `GF_00000000`"))

    assert client.get("/genomic-files", "GF_00000000") is None
    with pytest.raises(ValueError, match="GF kf_id"):
        client.get("/genomic-files", "GF_000/../x")
    with pytest.raises(ValueError, match="GF kf_id"):
        client.get("/genomic-files", "BS_00000000")
    assert len(responses.calls) == 1


@responses.activate
def test_update_and_delete_return_the_flattened_record(client):
    record = {"_status": {"code": 200, "message": "ok"}, "results": {"kf_id": "SG_62C3J2WZ"},
              "_links": {"genomic_file": "/genomic-files/GF_T44XN4NJ"}}
    path = f"{BASE}/sequencing-experiment-genomic-files/SG_62C3J2WZ"
    responses.patch(path, json=record, match=[responses.matchers.json_params_matcher(
        {"visible": False})])
    responses.delete(path, json=record)

    expected = {"kf_id": "SG_62C3J2WZ", "genomic_file_id": "GF_T44XN4NJ"}
    assert client.update("/sequencing-experiment-genomic-files", "SG_62C3J2WZ",
                         {"visible": False}) == expected
    assert client.delete("/sequencing-experiment-genomic-files", "SG_62C3J2WZ") == expected


# -- retries and errors ---------------------------------------------------------------


@responses.activate
def test_get_is_retried_on_503_then_succeeds_and_the_retry_is_counted(client):
    responses.get(f"{BASE}/status", status=503, json=error_body(503, "busy"))
    responses.get(f"{BASE}/status", json={"_status": {"code": 200, "version": "1.11.0"}})

    assert client.status()["version"] == "1.11.0"
    assert len(responses.calls) == 2
    assert client.request_counts() == {"GET /status": 2}


@responses.activate
def test_500_is_retried_only_twice_for_idempotent_requests(client):
    for _ in range(4):
        responses.get(f"{BASE}/genomic-files", status=500, json=error_body(500, "internal error"))

    with pytest.raises(DataServiceError, match="rejected GET /genomic-files with 500") as caught:
        client.list_all("/genomic-files", {"study_id": "SD_BXR0DYT8"})
    assert caught.value.status == 500
    assert len(responses.calls) == 3


@responses.activate
def test_a_retry_after_beyond_the_time_budget_stops_retrying():
    responses.get(f"{BASE}/status", status=503, headers={"Retry-After": "120"},
                  json=error_body(503, "maintenance"))
    with DataServiceClient(BASE, retry_max_seconds=60) as ds:
        with pytest.raises(DataServiceUnavailable, match="answered 503 to GET /status"):
            ds.status()
    assert len(responses.calls) == 1


@responses.activate
def test_4xx_is_not_retried_and_quotes_the_service_message_without_the_query(client):
    message = "could not retrieve entities: {'visible': ['Not a valid boolean.']}"
    responses.get(f"{BASE}/genomic-files", status=400, json=error_body(400, message))

    with pytest.raises(DataServiceError) as caught:
        client.list_all("/genomic-files", {"study_id": "SD_BXR0DYT8", "visible": "yes"})

    assert len(responses.calls) == 1
    assert f'"{message}"' in str(caught.value) and "GET /genomic-files" in str(caught.value)
    assert "SD_BXR0DYT8" not in str(caught.value)
    assert (caught.value.status, caught.value.method, caught.value.path) == (
        400, "GET", "/genomic-files")


@responses.activate
def test_401_names_the_token_variable_and_never_the_token(client):
    responses.get(f"{BASE}/status", status=401,
                  json=error_body(401, f"bad token {SENTINEL_TOKEN}"))

    with pytest.raises(DataServiceAuthError) as caught:
        client.status()

    assert "KF_DATASERVICE_TOKEN" in str(caught.value)
    assert SENTINEL_TOKEN not in str(caught.value)
    assert SENTINEL_TOKEN not in caught.value.service_message


def test_connection_refused_fails_fast_naming_the_url_setting():
    url = f"http://127.0.0.1:{closed_loopback_port()}"
    with DataServiceClient(url, SENTINEL_TOKEN, backoff_factor=0) as ds:
        with pytest.raises(DataServiceUnavailable) as caught:
            ds.status()
        counts = ds.request_counts()

    message = str(caught.value)
    assert url in message and "`url`" in message and "connection refused" in message
    assert SENTINEL_TOKEN not in message and SENTINEL_TOKEN not in repr(caught.value)
    assert counts == {"GET /status": 3}  # the first try and two connect retries, no storm



class _HangUpHandler(socketserver.BaseRequestHandler):
    """Reads a request and closes without answering: the outcome is unknown to the client."""

    def handle(self) -> None:
        self.server.received.append(self.request.recv(65536).split(b" ", 1)[0].decode())


@pytest.fixture
def hang_up_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _HangUpHandler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_urllib3_resends_a_dropped_get_but_never_a_dropped_post(hang_up_server):
    url = f"http://127.0.0.1:{hang_up_server.server_address[1]}"
    with DataServiceClient(url, max_retries=2, backoff_factor=0) as ds:
        with pytest.raises(DataServiceUnavailable, match="connection dropped"):
            ds.status()
        assert hang_up_server.received == ["GET"] * 3

        record, why = ds.post_once("/genomic-files", {"urls": []})

    assert record is None and why == "connection dropped"  # outcome unknown, never re-sent
    assert hang_up_server.received == ["GET"] * 3 + ["POST"]


def test_token_is_absent_from_client_repr():
    ds = DataServiceClient(BASE, SENTINEL_TOKEN)
    assert SENTINEL_TOKEN not in repr(ds) and "<set>" in repr(ds)


# -- concurrency --------------------------------------------------------------------------


CREATED = {"_status": {"code": 201, "message": "biospecimen_genomic_file BG_0F6TTJBQ created"},
           "results": {"kf_id": "BG_0F6TTJBQ"},
           "_links": {"biospecimen": "/biospecimens/BS_WVYGHZY0",
                      "genomic_file": "/genomic-files/GF_FNSFR12K"}}
BODY = {"biospecimen_id": "BS_WVYGHZY0", "genomic_file_id": "GF_FNSFR12K"}


@responses.activate
def test_post_once_returns_the_flattened_record(client):
    responses.post(f"{BASE}/biospecimen-genomic-files", status=201, json=CREATED,
                   match=[responses.matchers.json_params_matcher(BODY)])

    record, why = client.post_once("/biospecimen-genomic-files", BODY)

    assert why == "" and record["biospecimen_id"] == "BS_WVYGHZY0"


@responses.activate
def test_post_once_reports_an_unknown_outcome_and_raises_on_a_refusal(client):
    responses.post(f"{BASE}/biospecimen-genomic-files", status=504, json=error_body(504, "gw"))
    responses.post(f"{BASE}/biospecimen-genomic-files", status=400,
                   json=error_body(400, "biospecimens \"BS_00000000\" does not exist"))

    assert client.post_once("/biospecimen-genomic-files", BODY) == (None, "HTTP 504")
    with pytest.raises(DataServiceError, match="BS_00000000"):
        client.post_once("/biospecimen-genomic-files", BODY)
    assert len(responses.calls) == 2  # urllib3 never re-sends a POST


@responses.activate
def test_run_concurrently_keeps_input_order_records_errors_and_counts_every_request(client):
    responses.post(f"{BASE}/biospecimen-genomic-files", status=201, json=CREATED)
    progress = []

    def post(index: int) -> int:
        if index == 3:
            raise ValueError("bad row")
        client.post_once("/biospecimen-genomic-files", BODY)
        return index

    outcomes = client.run_concurrently(post, range(40), on_progress=lambda d, t: progress.append(d))

    assert [outcome.item for outcome in outcomes] == list(range(40))
    assert [outcome.value for outcome in outcomes if outcome.ok] == [i for i in range(40) if i != 3]
    assert isinstance(outcomes[3].error, ValueError)
    assert client.request_counts() == {"POST /biospecimen-genomic-files": 39}
    assert sorted(progress) == list(range(1, 41))


def test_run_concurrently_skips_the_rest_after_an_availability_error():
    with DataServiceClient(BASE, max_concurrency=1) as ds:
        def fail(_: int) -> None:
            raise DataServiceUnavailable("down")

        outcomes = ds.run_concurrently(fail, range(5))

    assert outcomes[0].attempted and not any(outcome.attempted for outcome in outcomes[1:])
    assert all(isinstance(outcome.error, DataServiceUnavailable) for outcome in outcomes)



def test_a_ca_bundle_from_the_environment_is_still_used(monkeypatch, tmp_path):
    """trust_env is off (per-request environment reads cost CPU): the bundle is read once."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with DataServiceClient("https://dataservice.test") as client:
        assert client._session.verify == str(bundle)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with DataServiceClient("https://dataservice.test") as client:
        assert client._session.verify is True


@responses.activate
def test_cookies_the_service_sets_are_sent_back():
    """A load balancer's stickiness cookie (the client prepares requests itself)."""
    responses.get("https://dataservice.test/status", json={"_status": {"version": "1"}},
                  headers={"Set-Cookie": "AWSALB=sticky; Path=/"})
    with DataServiceClient("https://dataservice.test") as client:
        client.status()
        client.status()
    assert "Cookie" not in responses.calls[0].request.headers
    assert responses.calls[1].request.headers["Cookie"] == "AWSALB=sticky"


@responses.activate
def test_a_redirect_is_not_followed_and_names_the_address_to_configure():
    responses.get("http://dataservice.test/status", status=301,
                  headers={"Location": "https://dataservice.test/status"})
    with DataServiceClient("http://dataservice.test") as client:
        with pytest.raises(DataServiceError, match="redirects to https://dataservice.test/status"):
            client.status()
    assert len(responses.calls) == 1


def test_map_concurrently_returns_values_in_order_or_raises_the_first_error():
    with DataServiceClient("http://dataservice.test", max_concurrency=4) as client:
        assert client.map_concurrently(lambda n: n * 2, range(10)) == [n * 2 for n in range(10)]

        def fail_on_three(n: int) -> int:
            if n == 3:
                raise DataServiceError("refused", status=400, method="GET", path="/x")
            return n

        with pytest.raises(DataServiceError, match="refused"):
            client.map_concurrently(fail_on_three, range(6))

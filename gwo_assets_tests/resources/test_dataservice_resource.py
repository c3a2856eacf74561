"""DataServiceResource: Dagster settings that build the client, token kept out of sight."""

import dagster as dg
import responses

from gwo_assets.resources.dataservice import DataServiceClient, DataServiceResource

SENTINEL_TOKEN = "SENTINEL-TOKEN-51d2"


def test_every_setting_is_described_for_the_dagster_ui():
    fields = DataServiceResource.model_fields
    assert set(fields) == {"url", "token", "connect_timeout", "read_timeout", "page_size",
                           "max_concurrency", "max_retries", "retry_max_seconds"}
    assert all(field.description for field in fields.values())


def test_token_is_not_in_the_resource_repr_or_str():
    resource = DataServiceResource(url="http://dataservice.test", token=SENTINEL_TOKEN)
    assert SENTINEL_TOKEN not in repr(resource) and SENTINEL_TOKEN not in str(resource)


def test_get_client_carries_the_settings():
    resource = DataServiceResource(url="http://dataservice.test/", page_size=10, max_concurrency=3)
    with resource.get_client() as client:
        assert isinstance(client, DataServiceClient)
        assert (client.url, client.page_size, client.max_concurrency) == (
            "http://dataservice.test", 10, 3)


@responses.activate
def test_token_bound_from_the_environment_reaches_the_request_header(monkeypatch):
    monkeypatch.setenv("KF_DATASERVICE_TOKEN", SENTINEL_TOKEN)
    responses.get("http://dataservice.test/status", json={"_status": {"code": 200}})
    resource = DataServiceResource(url="http://dataservice.test",
                                   token=dg.EnvVar("KF_DATASERVICE_TOKEN"))

    with dg.build_resources({"dataservice": resource}) as built:
        with built.dataservice.get_client() as client:
            client.status()

    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {SENTINEL_TOKEN}"
    assert SENTINEL_TOKEN not in repr(resource) and SENTINEL_TOKEN not in repr(built.dataservice)


def test_public_url_drops_credentials_query_and_trailing_slash():
    resource = DataServiceResource(url="https://user:secret@ds.example.org/api/?debug=1")
    assert resource.public_url == "https://ds.example.org/api"
    assert "secret" not in repr(resource.get_client())

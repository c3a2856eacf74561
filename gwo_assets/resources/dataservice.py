"""Dagster resource for the Kids First DataService: settings in, a client out."""

import os
from typing import Optional
from urllib.parse import urlsplit

import dagster as dg
from pydantic import Field

from gwo_assets.resources.dataservice_client import (
    MAX_PAGE_SIZE,
    TOKEN_ENV_VAR,
    DataServiceClient,
    Outcome,
    flatten_record,
    public_url,
)

__all__ = ["DataServiceClient", "DataServiceResource", "Outcome", "flatten_record",
           "public_url"]


URL_ENV_VAR = "KF_DATASERVICE_URL"


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the default port made explicit."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


class DataServiceResource(dg.ConfigurableResource):
    """Where the DataService is and how hard to push it; ``get_client()`` per step.

    The token is excluded from repr (``repr=False``) and should be bound from
    ``dg.EnvVar("KF_DATASERVICE_TOKEN")`` so the UI shows the variable, not the value.
    Per-run resource config replaces bound values instead of merging them, so a run
    config that sets only ``url`` would drop that binding: when ``token`` is unset the
    client reads ``KF_DATASERVICE_TOKEN`` itself, and a run is never silently
    unauthenticated while the variable is set.
    """

    url: str = Field(
        description="Base URL of the DataService, e.g. https://kf-api-dataservice.example.org")
    token: Optional[str] = Field(
        default=None, repr=False,
        description=f"Bearer token; unset: the {TOKEN_ENV_VAR} environment variable, read "
                    "when the run starts (so per-run config never drops it).")
    connect_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(
        default=60.0, gt=0,
        description="Seconds to wait for an answer; a listed genomic file costs an indexd lookup.")
    page_size: int = Field(
        default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE,
        description="Rows per list page; the service caps it at 1000.")
    max_concurrency: int = Field(
        default=16, ge=1,
        description="Requests in flight at once (writes, look-ups, read-back); 16 from the "
                    "benchmark: on loopback the same share of the floor as 8, at 20 ms latency "
                    "~1.8x the write rate of 8.")
    max_retries: int = Field(
        default=5, ge=0,
        description="Retries of a failed request (429/502/503/504, dropped connections; "
                    "500 at most twice).")
    retry_max_seconds: float = Field(
        default=60.0, gt=0, description="Upper bound on the time spent retrying one request.")

    @property
    def public_url(self) -> str:
        """The ``url`` setting without credentials, for messages and reports."""
        return public_url(self.url)

    @property
    def effective_token(self) -> str | None:
        """The ``token`` setting, else ``$KF_DATASERVICE_TOKEN`` - but that one only for the
        service ``$KF_DATASERVICE_URL`` names (when set): a run config pointing ``url`` at
        another host never receives the environment's token."""
        if self.token:
            return self.token
        token = os.environ.get(TOKEN_ENV_VAR) or None
        env_url = os.environ.get(URL_ENV_VAR)
        if token and env_url and _origin(env_url) != _origin(self.url):
            return None
        return token

    def get_client(self) -> DataServiceClient:
        """A new pooled client; use it as a context manager so its connections close."""
        return DataServiceClient(
            self.url, self.effective_token, connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout, page_size=self.page_size,
            max_concurrency=self.max_concurrency, max_retries=self.max_retries,
            retry_max_seconds=self.retry_max_seconds)

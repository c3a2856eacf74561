"""Dagster resource for the Kids First DataService: settings in, a client out."""

import os
from typing import Optional

import dagster as dg
from pydantic import Field

from gwo_assets.resources.dataservice_client import (
    MAX_PAGE_SIZE,
    TOKEN_ENV_VAR,
    CreateResult,
    DataServiceClient,
    Outcome,
    flatten_record,
    public_url,
)

__all__ = ["CreateResult", "DataServiceClient", "DataServiceResource", "Outcome", "flatten_record",
           "public_url"]


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
        """The ``token`` setting, else ``$KF_DATASERVICE_TOKEN`` (None when neither is set)."""
        return self.token or os.environ.get(TOKEN_ENV_VAR) or None

    def get_client(self) -> DataServiceClient:
        """A new pooled client; use it as a context manager so its connections close."""
        return DataServiceClient(
            self.url, self.effective_token, connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout, page_size=self.page_size,
            max_concurrency=self.max_concurrency, max_retries=self.max_retries,
            retry_max_seconds=self.retry_max_seconds)

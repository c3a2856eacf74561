"""Gen3 indexd, optional: an indexed proof that no genomic file holds an S3 URL yet.

The DataService has no index on ``genomic_file.external_id`` and counts every list
request's matches, so each ``GET /genomic-files?external_id=`` scans the table
twice (~130 ms at 1 M files, issue 20). indexd, where every genomic file's
``urls`` live, answers ``GET /index/?url=`` from an index. So a manifest file the
study read did not return is first asked of indexd: no record holds its URL ->
no genomic file of that object exists (this tool's Filepath is both the
external_id and the only url), and the scan is skipped. Any record -> the scan
runs as without indexd, so every decision still rests on the DataService's own
records. Unset (the default), every such file is scanned.
"""

from typing import Optional

import dagster as dg
from pydantic import Field

from gwo_assets.resources.dataservice_client import DataServiceClient

URL_ENV_VAR = "GEN3_INDEXD_URL"


class IndexdResource(dg.ConfigurableResource):
    """Where the DataService's indexd answers (e.g. https://data.kidsfirstdrc.org); unset: off."""

    url: Optional[str] = Field(
        default=None,
        description="Base URL of the Gen3 indexd the DataService uses (reads only, no token). "
                    f"Unset: every unseen manifest file is looked up in the DataService by "
                    f"external_id (a table scan there). Default: ${URL_ENV_VAR}.")
    max_concurrency: int = Field(default=16, ge=1, description="Look-ups in flight at once.")

    def get_client(self) -> DataServiceClient | None:
        """A pooled, retrying client for indexd, or None when no indexd is configured."""
        if not self.url:
            return None
        return DataServiceClient(self.url, None, max_concurrency=self.max_concurrency)


def url_is_unregistered(indexd: DataServiceClient, url: str) -> bool:
    """True when indexd holds no record with ``url`` (one indexed GET)."""
    return not indexd.get_json("/index/", {"url": url, "limit": 1}).get("records")

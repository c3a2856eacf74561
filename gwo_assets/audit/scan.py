"""The audit's reads: the study's harmonized genomic files, and a HEAD of each one's object.

Read-only by construction: it calls ``DataServiceClient.get`` and ``list_all`` and S3's
HEAD, nothing else. The study read (one chain of list pages, one request in flight) and
the HEADs (``s3.max_concurrency`` in flight, like the ingest's scrape) overlap: each page's
objects are HEADed while the next page is read.

Requests: 1 ``GET /studies/<id>`` + ceil(files / page_size) ``GET /genomic-files`` pages,
and 1 S3 HEAD per visible file with an ``s3://`` URL (one per distinct URL). Nothing else.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from gwo_assets.core.drift import audited_url, is_hidden
from gwo_assets.resources.dataservice_client import DataServiceClient
from gwo_assets.resources.s3 import head_object_row

# The files this project registers (``is_harmonized: true``); unharmonized source reads
# are other loaders' and are not read. ``study_id`` joins through biospecimen links, so a
# file without any is invisible to this read (as to the ingest's).
STUDY_FILES_QUERY = {"is_harmonized": "true"}


class StudyNotFound(LookupError):
    pass


@dataclass
class Scan:
    """What the audit read: the records, the S3 row per audited URL, and what it cost."""

    study: dict
    records: list[dict] = field(default_factory=list)
    s3_rows: dict[str, dict] = field(default_factory=dict)
    dataservice_requests: dict[str, int] = field(default_factory=dict)
    s3_requests: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    seconds: float = 0.0


def scan_study(dataservice: DataServiceClient, s3_client: Any, study_id: str, max_heads: int,
               on_head: Callable[[int, int], None] | None = None) -> Scan:
    """Read and HEAD everything the audit of ``study_id`` needs. ``on_head(done, submitted)``
    after each HEAD. Raises ``StudyNotFound``, ``DataServiceError``, ``S3AccessError``
    (credentials, endpoint, bucket: the environment's fault, not drift)."""
    started = time.monotonic()
    study = dataservice.get("/studies", study_id)
    if study is None:
        raise StudyNotFound(study_id)
    scan = Scan(study=study)
    futures: dict[str, Future] = {}
    lock = threading.Lock()
    done = 0
    fatal: list[BaseException] = []

    def finished(future: Future) -> None:
        nonlocal done
        with lock:
            done += 1
            count, submitted = done, len(futures)
        if future.exception() is not None:
            fatal.append(future.exception())
        if on_head is not None:
            on_head(count, submitted)

    pool = ThreadPoolExecutor(max_workers=max(1, max_heads), thread_name_prefix="audit-head")
    try:
        def on_records(page: list[dict]) -> None:
            scan.pages += 1
            if fatal:  # the environment is broken: stop reading, raise below
                raise fatal[0]
            scan.records.extend(page)
            for record in page:
                url = audited_url(record)
                if url is None or is_hidden(record) or url in futures:
                    continue
                with lock:
                    futures[url] = pool.submit(head_object_row, s3_client, url)
                futures[url].add_done_callback(finished)

        params = {"study_id": study_id, **STUDY_FILES_QUERY}
        dataservice.list_all("/genomic-files", params, on_records=on_records)
        scan.s3_rows = {url: future.result() for url, future in futures.items()}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    scan.dataservice_requests = dataservice.request_counts()
    scan.s3_requests = dict(Counter({"HEAD": sum(1 for f in futures.values() if not f.cancelled())}))
    scan.seconds = time.monotonic() - started
    return scan

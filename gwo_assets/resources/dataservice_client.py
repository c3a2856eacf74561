"""HTTP client for the Kids First DataService, shaped by its recorded contract.

Why it looks the way it does (see ``gwo_assets_tests/fixtures/dataservice_contract/README.md``):
- ``_links.next`` drops every filter and the limit, so pagination re-sends our own
  params and takes only ``after``/``after_uuid`` from it (files 034-037).
- POST is not idempotent (duplicate genomic files are accepted, 112-113): the client
  sends a POST once and says whether its outcome is known; ``resources/creates.py``
  decides how a create is made safe to repeat.
- The service answers 500 for some programming errors (``kf_id=`` filter, ``limit=0``)
  and fault injection uses 500 too, so idempotent requests retry a 500 only twice.
"""

import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util.retry import Retry

from gwo_assets.core.kf_ids import is_kf_id, validate_kf_id
from gwo_assets.errors import DataServiceAuthError, DataServiceError, DataServiceUnavailable

logger = logging.getLogger(__name__)

TOKEN_ENV_VAR = "KF_DATASERVICE_TOKEN"
MAX_PAGE_SIZE = 1000
RETRIED_STATUSES = (429, 502, 503, 504)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PATCH", "DELETE"})
RETRIES_ON_500 = 2
MAX_CONNECT_RETRIES = 2
FLATTENED_RELATIONS = (
    "biospecimen", "genomic_file", "sequencing_experiment", "participant", "study",
    "sequencing_center", "family",
)
KF_ID_PREFIX_BY_ENDPOINT = {
    "/studies": "SD", "/participants": "PT", "/biospecimens": "BS",
    "/sequencing-centers": "SC", "/sequencing-experiments": "SE", "/genomic-files": "GF",
    "/biospecimen-genomic-files": "BG", "/sequencing-experiment-genomic-files": "SG",
    "/families": "FM",
}
_RESERVED_LIST_PARAMS = frozenset({"limit", "after", "after_uuid", "kf_id"})
_COLLECTION_NAME = re.compile(r"^[a-z]+(-[a-z]+)*$")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """One item of a concurrent batch: its value, or the exception it raised."""

    item: T
    value: R | None = None
    error: BaseException | None = None
    attempted: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None


def flatten_record(item: Mapping[str, Any], links: Mapping[str, Any] | None = None) -> dict:
    """Item fields plus ``<relation>_id`` kf_ids parsed from its ``_links`` paths.

    Link ids (``biospecimen_id`` ...) are write-only fields: responses carry them
    only as ``_links`` relations, per item in lists and at the top level otherwise.
    """
    links = (item.get("_links") or {}) if links is None else links
    record = {key: value for key, value in item.items() if key != "_links"}
    for relation in FLATTENED_RELATIONS:
        if relation in links:
            path = links[relation]
            record[f"{relation}_id"] = path.rstrip("/").rsplit("/", 1)[-1] if path else None
    return record


def public_url(url: str) -> str:
    """``url`` fit for messages and reports: no user:password, query or fragment."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def normalize_endpoint(endpoint: str) -> str:
    """``genomic-files`` or ``/genomic-files/`` -> ``/genomic-files``; rejects anything else."""
    name = endpoint.strip("/")
    if not _COLLECTION_NAME.fullmatch(name):
        raise ValueError(f"{endpoint!r} is not a DataService collection such as '/genomic-files'")
    return f"/{name}"


class _BoundedRetry(Retry):
    """urllib3 Retry bounded by time as well as count, that reports each retry.

    It gives up as soon as the next wait (backoff, or the server's Retry-After)
    would end past ``time_budget`` seconds after the first failure, rather than
    retry earlier than the server asked. ``on_retry(method, url)`` lets the client
    count the requests urllib3 re-sends; 500 is retried at most ``RETRIES_ON_500``
    times (see module docstring).
    """

    def __init__(self, *args: Any, time_budget: float = 60.0,
                 on_retry: Callable[[str, str], None] | None = None,
                 first_failure_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_budget = time_budget
        self.on_retry = on_retry
        self.first_failure_at = first_failure_at

    def new(self, **kw: Any) -> "_BoundedRetry":
        kw.setdefault("time_budget", self.time_budget)
        kw.setdefault("on_retry", self.on_retry)
        kw.setdefault("first_failure_at", self.first_failure_at)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 500:
            earlier_500s = sum(1 for attempt in self.history if attempt.status == 500)
            return self._is_method_retryable(method) and earlier_500s < RETRIES_ON_500
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None,
                  ) -> "_BoundedRetry":
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry.first_failure_at = self.first_failure_at or time.monotonic()
        wait = retry.get_backoff_time()
        if response is not None and self.respect_retry_after_header:
            wait = retry.get_retry_after(response) or wait
        if time.monotonic() - retry.first_failure_at + wait > self.time_budget:
            reason = error or ResponseError(f"retry time budget of {self.time_budget:g}s exhausted")
            raise MaxRetryError(_pool, url or "", reason) from reason
        if self.on_retry is not None:
            self.on_retry(method or "", url or "")
        return retry


def _root_cause(error: BaseException) -> BaseException:
    """The urllib3 error inside a requests exception (unwrapping MaxRetryError)."""
    cause = error.args[0] if error.args and isinstance(error.args[0], BaseException) else error
    return getattr(cause, "reason", None) or cause


def _failure_reason(error: BaseException) -> str:
    cause = _root_cause(error)
    for kind, reason in (
        (NameResolutionError, "DNS lookup failed"),
        (NewConnectionError, "connection refused"),
        (ConnectTimeoutError, "connect timed out"),
        (ReadTimeoutError, "read timed out"),
        (ProtocolError, "connection dropped"),
    ):
        if isinstance(cause, kind):
            return reason
    if isinstance(error, requests.Timeout):
        return "timed out"
    return type(cause).__name__


def _reached_server_before(response: requests.Response) -> bool:
    """True when an earlier attempt of this request may have reached the server."""
    retries = getattr(response.raw, "retries", None)
    history = retries.history if retries is not None else ()
    return any(not isinstance(attempt.error, ConnectTimeoutError) for attempt in history)


def _never_sent(error: BaseException) -> bool:
    """True when the request provably never reached the server (connect phase failed)."""
    return isinstance(error, requests.ConnectTimeout) or isinstance(
        _root_cause(error), ConnectTimeoutError)


class DataServiceClient:
    """Pooled, retrying, request-counting client; one per asset/step, then ``close()``."""

    def __init__(self, url: str, token: str | None = None, *, connect_timeout: float = 5.0,
                 read_timeout: float = 60.0, page_size: int = MAX_PAGE_SIZE,
                 max_concurrency: int = 16, max_retries: int = 5, retry_max_seconds: float = 60.0,
                 backoff_factor: float = 0.5) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        self.url = url.rstrip("/")
        self.public_url = public_url(self.url)
        self._token = token
        self.page_size = page_size
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.retry_max_seconds = retry_max_seconds
        self.backoff_factor = backoff_factor
        self._timeout = (connect_timeout, read_timeout)
        self._base_path = urlsplit(self.url).path
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._session = self._build_session()

    def __repr__(self) -> str:
        token = "<set>" if self._token else None
        return f"DataServiceClient(url={self.public_url!r}, token={token})"

    def __enter__(self) -> "DataServiceClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def _build_session(self) -> requests.Session:
        retry = _BoundedRetry(
            total=self.max_retries,
            connect=min(self.max_retries, MAX_CONNECT_RETRIES),
            read=self.max_retries,
            status=self.max_retries,
            other=0,
            redirect=0,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=RETRIED_STATUSES,
            backoff_factor=self.backoff_factor,
            backoff_jitter=self.backoff_factor,
            backoff_max=self.retry_max_seconds,
            respect_retry_after_header=True,
            raise_on_status=False,
            time_budget=self.retry_max_seconds,
            on_retry=self._count_retry,
        )
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.max_concurrency + 4,
                              max_retries=retry)
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"Accept": "application/json", "User-Agent": "gwo_assets"})
        # Proxies are read from the environment once, here, not on every request: with
        # trust_env requests re-reads them and ~/.netrc per call (~30% of a write's client
        # CPU in the benchmark profile). Auth is the bearer token, so .netrc is not needed.
        session.proxies.update(requests.utils.get_environ_proxies(self.url))
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
            "CURL_CA_BUNDLE") or True  # what trust_env would have read, read once
        session.trust_env = False
        if self._token:
            session.headers["Authorization"] = f"Bearer {self._token}"
        return session

    # -- request accounting -------------------------------------------------------

    def request_counts(self) -> dict[str, int]:
        """Requests sent (retries included) by ``"METHOD /collection"``."""
        with self._counts_lock:
            return dict(self._counts)

    def _count(self, method: str, path: str) -> None:
        collection = "/" + path.strip("/").split("/", 1)[0]
        with self._counts_lock:
            self._counts[f"{method} {collection}"] += 1

    def _count_retry(self, method: str, url: str) -> None:
        path = urlsplit(url).path
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path):]
        self._count(method, path)

    # -- public API ---------------------------------------------------------------

    def status(self) -> dict:
        """The service's ``_status`` block (version, commit): a cheap reachability check."""
        return self._request_json("GET", "/status").get("_status", {})

    def get(self, endpoint: str, kf_id: str) -> dict | None:
        """One flattened record, or None when the service answers 404."""
        path = self._entity_path(endpoint, kf_id)
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        return self._single_record(self._checked_json(response, "GET", path))

    def get_json(self, path: str, params: Mapping[str, Any]) -> dict:
        """A GET of any JSON document on this service, e.g. Gen3 indexd's ``/index/``
        (``resources/indexd.py``), with the same pool, retries and error sentences."""
        return self._request_json("GET", path, params=dict(params))

    def update(self, endpoint: str, kf_id: str, body: Mapping[str, Any]) -> dict:
        """PATCH the given fields; returns the updated flattened record."""
        path = self._entity_path(endpoint, kf_id)
        return self._single_record(self._request_json("PATCH", path, json=dict(body)))

    def delete(self, endpoint: str, kf_id: str) -> dict | None:
        """DELETE; the deleted record (the service echoes it), or None when a retry found it gone.

        A retry after a lost answer (or an error status) may find the record deleted
        by that earlier attempt: its 404 is this DELETE's success, not an error.
        """
        path = self._entity_path(endpoint, kf_id)
        response = self._send("DELETE", path)
        if response.status_code == 404 and _reached_server_before(response):
            return None
        return self._single_record(self._checked_json(response, "DELETE", path))

    def list_all(self, endpoint: str, params: Mapping[str, Any],
                 on_page: Callable[[int, int | None], None] | None = None,
                 on_records: Callable[[list[dict]], None] | None = None) -> list[dict]:
        """Every matching item, flattened, following the cursor with our own filters.

        ``on_records`` gets each page's flattened items as soon as the page is read (the
        drift audit HEADs a page's objects while the next page is fetched)."""
        reserved = _RESERVED_LIST_PARAMS.intersection(params)
        if reserved:
            raise ValueError(f"list_all sets {sorted(reserved)} itself (use get() for a kf_id)")
        path = normalize_endpoint(endpoint)
        query: dict[str, Any] = {**params, "limit": self.page_size}
        rows: list[dict] = []
        while True:
            body = self._request_json("GET", path, params=query)
            page = [flatten_record(item) for item in body.get("results") or []]
            rows.extend(page)
            if on_records is not None:
                on_records(page)
            if on_page is not None:
                on_page(len(rows), body.get("total"))
            next_link = (body.get("_links") or {}).get("next")
            if not next_link:
                return rows
            query = {**params, "limit": self.page_size, **self._cursor(next_link, query, path)}

    def run_concurrently(self, fn: Callable[[T], R], items: Iterable[T],
                         on_progress: Callable[[int, int], None] | None = None,
                         ) -> list[Outcome[T, R]]:
        """``fn`` over ``items`` with at most ``max_concurrency`` in flight, results in input order.

        An item's exception becomes its outcome. After an auth or availability error
        the items not yet started are skipped (``attempted=False``, same error): every
        one of them would fail the same way.
        """
        items = list(items)
        stop = threading.Event()
        first_fatal: list[BaseException] = []

        def run_one(item: T) -> Outcome[T, R]:
            if stop.is_set():
                return Outcome(item, error=first_fatal[0], attempted=False)
            try:
                return Outcome(item, value=fn(item))
            except (DataServiceAuthError, DataServiceUnavailable) as error:
                first_fatal.append(error)
                stop.set()
                return Outcome(item, error=error)
            except Exception as error:  # recorded per item, by design
                return Outcome(item, error=error)

        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            futures = [pool.submit(run_one, item) for item in items]
            for done, _ in enumerate(as_completed(futures), start=1):
                if on_progress is not None:
                    on_progress(done, len(items))
        return [future.result() for future in futures]

    def map_concurrently(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``run_concurrently`` for reads that all must succeed: the values, or the first error."""
        outcomes = self.run_concurrently(fn, items)
        failed = next((outcome.error for outcome in outcomes if outcome.error is not None), None)
        if failed is not None:
            raise failed
        return [outcome.value for outcome in outcomes]

    # -- internals ----------------------------------------------------------------

    def _entity_path(self, endpoint: str, kf_id: str) -> str:
        path = normalize_endpoint(endpoint)
        prefix = KF_ID_PREFIX_BY_ENDPOINT.get(path)
        if prefix:
            validate_kf_id(kf_id, prefix)
        elif not is_kf_id(kf_id):
            raise ValueError(f"{kf_id!r} is not a kf_id (PREFIX_ + 8 Crockford base32 characters)")
        return f"{path}/{kf_id}"

    def _cursor(self, next_link: str, query: Mapping[str, Any], path: str) -> dict[str, str]:
        """``after``/``after_uuid`` from a next link; refuses a cursor that does not move."""
        link_params = parse_qs(urlsplit(next_link).query)
        cursor = {key: link_params[key][0] for key in ("after", "after_uuid") if key in link_params}
        if "after" not in cursor or all(query.get(k) == v for k, v in cursor.items()):
            raise DataServiceError(
                f"DataService returned an unusable next link for GET {path}: {next_link!r}",
                method="GET", path=path)
        return cursor

    def post_once(self, endpoint: str, body: Mapping[str, Any]) -> tuple[dict | None, str]:
        """One POST: (record, "") when created; (None, why) when the outcome is unknown
        (it may still commit); raises on a definite refusal. ``resources/creates.py`` owns
        what to do next: urllib3 never re-sends a POST it may have delivered."""
        path = normalize_endpoint(endpoint)
        try:
            response = self._send("POST", path, json=dict(body), map_errors=False)
        except requests.RequestException as error:
            if _never_sent(error):
                raise self._unavailable("POST", path, error) from error
            return None, _failure_reason(error)
        if response.status_code >= 500 or response.status_code == 429:
            return None, f"HTTP {response.status_code}"
        return self._single_record(self._checked_json(response, "POST", path)), ""

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None, map_errors: bool = True) -> requests.Response:
        self._count(method, path)
        # Prepared here and sent with Session.send: the session's pool, retries, proxies and
        # cookies (e.g. a load balancer's), without Session.request's per-call merging of
        # settings (~20% of a write's client CPU). Redirects are not followed: a redirected
        # POST would turn into a GET; the error names the address to configure instead.
        request = requests.PreparedRequest()
        request.prepare(method=method, url=self.url + path, headers=self._session.headers,
                        params=params, json=json, cookies=self._session.cookies or None)
        try:
            return self._session.send(request, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as error:
            if not map_errors:
                raise
            raise self._unavailable(method, path, error) from error

    def _request_json(self, method: str, path: str, **kwargs: Any) -> dict:
        return self._checked_json(self._send(method, path, **kwargs), method, path)

    def _checked_json(self, response: requests.Response, method: str, path: str) -> dict:
        """The JSON body of a 2xx answer; a user-facing error for anything else."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= status < 300 and isinstance(body, dict):
            return body
        status_block = body.get("_status") if isinstance(body, dict) else None
        message = status_block.get("message") if isinstance(status_block, dict) else None
        message = self._scrub(message or " ".join(response.text.split())[:200] or response.reason)
        where = f"{method} {path}"
        if status in (401, 403):
            raise DataServiceAuthError(
                f"DataService refused {where} with {status} \"{message}\": set {TOKEN_ENV_VAR} "
                "to a valid token for this DataService",
                status=status, method=method, path=path, service_message=message)
        if status in (502, 503, 504):
            raise DataServiceUnavailable(
                f"DataService at {self.public_url} answered {status} to {where} after retries: "
                "check the service and the dataservice resource's `url` setting",
                status=status, method=method, path=path, service_message=message)
        hint = "; lower the dataservice resource's `max_concurrency`" if status == 429 else ""
        if 300 <= status < 400 and response.headers.get("Location"):
            location = public_url(response.headers["Location"])
            hint = f"; it redirects to {location}: set the dataservice resource's `url` to that"
        verdict = f"answered {where} with non-JSON" if status < 300 else (
            f"rejected {where} with {status}")
        raise DataServiceError(f"DataService {verdict}: \"{message}\"{hint}", status=status,
                               method=method, path=path, service_message=message)

    def _unavailable(self, method: str, path: str, error: BaseException) -> DataServiceUnavailable:
        return DataServiceUnavailable(
            f"DataService at {self.public_url} is unavailable for {method} {path} "
            f"({_failure_reason(error)}, after retries): check the dataservice resource's "
            "`url` setting and that the service is running",
            method=method, path=path)

    def _single_record(self, body: dict) -> dict:
        return flatten_record(body.get("results") or {}, links=body.get("_links") or {})

    def _scrub(self, text: str) -> str:
        """Never let the token through, even if a proxy echoes request headers."""
        return text.replace(self._token, "***") if self._token else text

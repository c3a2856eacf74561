"""One request in, one reply out: routing, envelopes, request counts and faults.

Free of sockets, so the HTTP layer stays a thin adapter. Paths under
``/_sandbox/`` are the sandbox's own (stats, fault switch): never counted,
never faulted, and absent from the real service.
"""

import json
import logging
import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from gwo_assets.sandbox.dataservice import indexd, listing, operations, store
from gwo_assets.sandbox.dataservice.api_errors import (
    BAD_REQUEST, INTEGRITY_ERROR, METHOD_NOT_ALLOWED, NOT_FOUND, ApiError, internal_error,
)
from gwo_assets.sandbox.dataservice.faults import FaultConfig, FaultInjector, Gate, fault_message
from gwo_assets.sandbox.dataservice.schema import BY_PATH, GENOMIC_FILE, Resource
from gwo_assets.sandbox.dataservice.store import Store

log = logging.getLogger(__name__)

SANDBOX_PREFIX = "/_sandbox/"
INDEXD_PATH = "index"  # Gen3 indexd's records endpoint, served beside the DataService API
STATUS = {
    "_status": {
        "branch": "master", "code": 200, "commit": "dbbe08c",
        "message": "Welcome to the Kids First Dataservice API",
        "tags": ["1.36.0", "latest-release", ""], "version": "1.11.0",
    }
}


@dataclass(frozen=True)
class Reply:
    """``body`` None means: close the connection without answering (a lost response);
    ``changed`` marks a write that changed state."""

    status: int
    body: dict | None
    changed: bool = False


class RequestStats:
    """Requests received per ``METHOD /collection`` and writes that changed state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._writes = 0
        self._unauthorized = 0

    def count_request(self, key: str) -> None:
        with self._lock:
            self._requests[key] += 1

    def count_unauthorized(self) -> None:
        with self._lock:
            self._unauthorized += 1

    def unauthorized_count(self) -> int:
        with self._lock:
            return self._unauthorized

    def count_write(self) -> None:
        with self._lock:
            self._writes += 1

    def request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._requests)

    def write_count(self) -> int:
        with self._lock:
            return self._writes

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._writes = 0
            self._unauthorized = 0

    def as_json(self) -> dict:
        return {"requests": self.request_counts(), "writes": self.write_count(),
                "unauthorized": self.unauthorized_count()}


class DataServiceApp:
    """The emulated DataService API over a :class:`Store`."""

    def __init__(self, db: Store, faults: FaultConfig | None = None) -> None:
        self.db = db
        self.stats = RequestStats()
        self._faults = FaultInjector(faults)
        self._late_lock = threading.Lock()
        self._late_pending = 0
        # The real service sits behind a gateway that checks a bearer token; None: open.
        self.required_token: str | None = None
        self.gates: dict[str, Gate] = {}  # "METHOD /collection" -> held until released

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Swap the fault configuration; the seeded sequence starts over."""
        self._faults = FaultInjector(faults)

    def handle(self, method: str, target: str, body: bytes,
               authorization: str | None = None) -> Reply:
        path, _, query = target.partition("?")
        if path.startswith(SANDBOX_PREFIX):
            return self._sandbox(method, path, body)
        segments = [unquote(part) for part in path.strip("/").split("/")]
        self.stats.count_request(f"{method} /{segments[0]}")
        if self.required_token is not None and authorization != f"Bearer {self.required_token}":
            self.stats.count_unauthorized()
            return _error(401, "Unauthorized: a valid bearer token is required")
        gate = self.gates.get(f"{method} /{segments[0]}")
        if gate is not None:
            gate.wait()
        fault = self._faults.next_fault(method)
        if fault.error_status:
            return _error(fault.error_status, fault_message(fault.error_status))
        if fault.late_commit:
            self._commit_later(method, segments, query, body)
            status = self._faults.config.late_commit_status
            return _error(status, fault_message(status))
        reply = self._answer(method, segments, query, body)
        if reply.changed:
            self.stats.count_write()
        return Reply(reply.status, None) if fault.lose_response else reply

    def _commit_later(self, method: str, segments: list[str], query: str, body: bytes) -> None:
        """Carry the request out ``late_commit_seconds`` from now, as a service behind a gateway
        that already gave up would."""

        def commit() -> None:
            try:
                if self._answer(method, segments, query, body).changed:
                    self.stats.count_write()
            finally:
                with self._late_lock:
                    self._late_pending -= 1

        with self._late_lock:
            self._late_pending += 1
        timer = threading.Timer(self._faults.config.late_commit_seconds, commit)
        timer.daemon = True
        timer.start()

    def late_commits_pending(self) -> int:
        """Requests answered already but not yet carried out (tests wait for 0)."""
        with self._late_lock:
            return self._late_pending

    def _answer(self, method: str, segments: list[str], query: str, body: bytes) -> Reply:
        try:
            return self._route(method, segments, query, body)
        except ApiError as error:
            return _error(error.status, error.message)
        except sqlite3.IntegrityError:
            return _error(400, INTEGRITY_ERROR)
        except Exception:
            log.exception("sandbox DataService failed on %s /%s", method, "/".join(segments))
            error = internal_error()
            return _error(error.status, error.message)

    def _route(self, method: str, segments: list[str], query: str, body: bytes) -> Reply:
        if segments == ["status"]:
            _allow(method, "GET")
            return Reply(200, STATUS)
        if segments[0] == INDEXD_PATH and len(segments) == 1 or segments == [INDEXD_PATH, ""]:
            _allow(method, "GET")
            return self._indexd_records(query)
        resource = BY_PATH.get(segments[0])
        if resource is None or len(segments) > 2:
            raise ApiError(404, NOT_FOUND)
        if len(segments) == 1:
            _allow(method, "GET", "POST")
            if method == "GET":
                return self._list(resource, query)
            return self._single(201, "created", resource,
                                operations.create(self.db, resource, _json(body)))
        kf_id = segments[1]
        _allow(method, "GET", "PATCH", "DELETE")
        if method == "GET":
            return self._single(200, "success", resource,
                                operations.read(self.db, resource, kf_id))
        if method == "PATCH":
            return self._single(200, "updated", resource,
                                operations.update(self.db, resource, kf_id, _json(body)))
        return self._single(200, "deleted", resource,
                            operations.delete(self.db, resource, kf_id))

    def _list(self, resource: Resource, query: str) -> Reply:
        params: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(name, value)
        with self.db.connection() as conn:
            page = listing.list_page(conn, resource, params)
        return Reply(200, {"_status": {"code": 200, "message": "success"}, **page})

    def _indexd_records(self, query: str) -> Reply:
        """Gen3 indexd's ``GET /index/?url=`` (its shape, the fields a loader reads): the
        sandbox serves the indexd its genomic files live in beside the DataService API."""
        params = dict(parse_qsl(query, keep_blank_values=True))
        url = params.get("url")
        if not url:
            return _error(400, "indexd: give a url")
        limit = min(max(int(params["limit"]) if params.get("limit", "").isdigit() else 100, 1),
                    1024)
        with self.db.connection() as conn:
            records = store.records_with_url(conn, GENOMIC_FILE, url, limit)
        return Reply(200, {"records": [indexd.record(r) for r in records], "limit": limit,
                           "start": 0, "urls": [url]})

    def _single(self, status: int, verb: str, resource: Resource,
                outcome: operations.Outcome) -> Reply:
        message = verb if verb == "success" else f"{resource.entity} {outcome.kf_id} {verb}"
        return Reply(status, {"_status": {"code": status, "message": message},
                              "results": outcome.results, "_links": outcome.links},
                     changed=outcome.changed)

    def _sandbox(self, method: str, path: str, body: bytes) -> Reply:
        route = (method, path.rstrip("/"))
        if route == ("GET", "/_sandbox/stats"):
            return Reply(200, {**self.stats.as_json(),
                               "late_commits_pending": self.late_commits_pending()})
        if route == ("POST", "/_sandbox/reset-stats"):
            self.stats.reset()
            return Reply(200, self.stats.as_json())
        if route == ("POST", "/_sandbox/faults"):
            try:
                settings = json.loads(body or b"null") or {}
                self.set_faults(_fault_config(settings))
            except (ValueError, TypeError) as error:
                return _error(400, f"invalid fault settings: {error}")
            return Reply(200, {"faults": settings or None})
        return _error(404, NOT_FOUND)


def _fault_config(settings: object) -> FaultConfig | None:
    """A FaultConfig from JSON (lists become tuples); ``{}`` means no faults."""
    if not isinstance(settings, dict):
        raise TypeError("expected a JSON object of FaultConfig fields")
    if not settings:
        return None
    return FaultConfig(**{key: tuple(value) if isinstance(value, list) else value
                          for key, value in settings.items()})


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise ApiError(405, METHOD_NOT_ALLOWED)


def _json(body: bytes) -> object:
    """Flask's ``get_json(force=True)``: anything unparseable (even empty) is a 400."""
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(400, BAD_REQUEST) from None


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"_status": {"code": status, "message": message}})

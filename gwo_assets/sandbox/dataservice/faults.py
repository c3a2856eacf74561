"""Fault injection: server errors, latency, lost responses and late commits, by seed.

Retries and idempotency are only testable against a service that fails; a
lost response (the write happens, the answer never arrives) is the case that
makes a naive retry create duplicates, and a late commit (a gateway answers
504 at once, the service commits the same request seconds later) is the case
that makes even "look it up, then re-send" create them. Every request in
``methods`` draws the same three numbers from one seeded generator (a fourth
when late commits are on), so a given seed and request order always gives the
same faults.
"""

import random
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus

from gwo_assets.sandbox.dataservice.api_errors import INTERNAL_ERROR, SERVICE_UNAVAILABLE


@dataclass(frozen=True)
class FaultConfig:
    """``error_rate``: answer an error before doing anything; ``lost_response_rate``:
    do the work, then close the connection without answering; ``late_commit_rate``:
    answer ``late_commit_status`` at once, then do the work ``late_commit_seconds`` later
    (POST and PATCH only: the writes a gateway can time out on)."""

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    latency_ms: int = 0
    lost_response_rate: float = 0.0
    seed: int = 0
    methods: tuple[str, ...] = ("GET", "POST", "PATCH", "DELETE")
    late_commit_rate: float = 0.0
    late_commit_seconds: float = 4.0
    late_commit_status: int = 504

    def __post_init__(self) -> None:
        if not self.error_statuses:
            raise ValueError("error_statuses needs at least one HTTP status")


@dataclass(frozen=True)
class Fault:
    error_status: int | None = None
    lose_response: bool = False
    late_commit: bool = False


NO_FAULT = Fault()
LATE_COMMIT_METHODS = ("POST", "PATCH")


class FaultInjector:
    """Draws the fault for each request, in arrival order."""

    def __init__(self, config: FaultConfig | None) -> None:
        self.config = config
        self._random = random.Random(config.seed if config else 0)
        self._lock = threading.Lock()

    def next_fault(self, method: str) -> Fault:
        """The fault for this request (after sleeping the configured latency)."""
        config = self.config
        if config is None or method not in config.methods:
            return NO_FAULT
        with self._lock:
            error_roll = self._random.random()
            lost_roll = self._random.random()
            status = config.error_statuses[self._random.randrange(len(config.error_statuses))]
            late_roll = self._random.random() if config.late_commit_rate else 1.0
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        if error_roll < config.error_rate:
            return Fault(error_status=status)
        if lost_roll < config.lost_response_rate:
            return Fault(lose_response=True)
        if late_roll < config.late_commit_rate and method in LATE_COMMIT_METHODS:
            return Fault(late_commit=True)
        return NO_FAULT


def fault_message(status: int) -> str:
    """Werkzeug's text for the injected status."""
    if status == 500:
        return INTERNAL_ERROR
    if status == 503:
        return SERVICE_UNAVAILABLE
    return HTTPStatus(status).phrase


class Gate:
    """Holds every request of one ``"METHOD /collection"`` until released, to freeze a client
    at a chosen point of its writes (e.g. between its POSTs and its link POSTs) while another
    client runs: ``arrived`` counts the requests that reached it."""

    def __init__(self, timeout_seconds: float = 600) -> None:
        self._open = threading.Event()
        self._lock = threading.Lock()
        self.timeout_seconds = timeout_seconds
        self.arrived = 0

    def wait(self) -> None:
        with self._lock:
            self.arrived += 1
        self._open.wait(self.timeout_seconds)

    def release(self) -> None:
        self._open.set()

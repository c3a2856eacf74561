"""The write floor: how fast a plain concurrent POST loop writes on the same sandbox.

Nothing can load a study faster than its writes can be made, so the pipeline's
fresh-load time is compared with ``writes / best rate``. Each loop unit is what
the pipeline writes per harmonized file: a genomic file (one of the pipeline's
own planned bodies, with a new external_id), its biospecimen link and its
experiment link, into a throwaway study of the same DataService. Each client
is a thread with its own keep-alive session, as in
``gwo_assets_tests/sandbox/bench_dataservice.py`` (which measures links only,
on a server of its own).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from gwo_assets_tests.bench.host import DataServiceProcess

CLIENT_COUNTS = (1, 4, 8, 16)  # 16: the pipeline's default max_concurrency
TARGETS = 25  # biospecimens and experiments the floor's links point at
TIMEOUT = 30


@dataclass(frozen=True)
class FloorRate:
    clients: int
    writes: int
    seconds: float
    server_cpu_us_per_write: float
    client_cpu_us_per_write: float

    @property
    def rate(self) -> float:
        return self.writes / self.seconds

    @property
    def cpu_us_per_write(self) -> float:
        """Client plus server CPU per write: less sensitive to a busy machine than the rate."""
        return self.server_cpu_us_per_write + self.client_cpu_us_per_write


@dataclass(frozen=True)
class WriteFloor:
    rates: tuple[FloorRate, ...]

    @property
    def best(self) -> FloorRate:
        return max(self.rates, key=lambda r: r.rate)

    def seconds_for(self, writes: int) -> float:
        return writes / self.best.rate

    def cpu_seconds_for(self, writes: int) -> float:
        """Client + server CPU the floor loop spends on ``writes`` writes (at its best rate)."""
        return writes * self.best.cpu_us_per_write / 1e6


class _Targets:
    """A throwaway study with biospecimens and experiments to link floor files to."""

    def __init__(self, url: str) -> None:
        with requests.Session() as s:
            study = _post(s, url, "/studies", {"external_id": "bench-write-floor"})
            center = _post(s, url, "/sequencing-centers", {"name": f"bench floor center {study}"})
            participant = _post(s, url, "/participants", {"study_id": study})
            self.biospecimens = [_post(s, url, "/biospecimens", {
                "participant_id": participant, "sequencing_center_id": center,
                "analyte_type": "DNA"}) for _ in range(TARGETS)]
            self.experiments = [_post(s, url, "/sequencing-experiments", {
                "external_id": f"bench-floor-SE-{i}", "experiment_strategy": "WGS",
                "is_paired_end": True, "platform": "Illumina", "sequencing_center_id": center})
                for i in range(TARGETS)]


def measure_write_floor(dataservice: DataServiceProcess, payloads: list[dict],
                        seconds: float, client_counts: tuple[int, ...] = CLIENT_COUNTS) -> WriteFloor:
    """Sustained writes/s of (file + 2 links) units at each client count."""
    targets = _Targets(dataservice.url)
    units = _units(payloads)
    return WriteFloor(tuple(_measure(dataservice, targets, units, clients, seconds)
                            for clients in client_counts))


def _units(payloads: list[dict]) -> Iterator[tuple[int, dict]]:
    """Endless (number, file body) pairs: the pipeline's bodies, each with a fresh external_id."""
    for number, payload in enumerate(itertools.cycle(payloads)):
        name = str(payload.get("file_name") or "file")
        uri = f"s3://gwo-bench-floor/{number}/{name}"
        yield number, {**payload, "external_id": uri, "urls": [uri]}


def _measure(dataservice: DataServiceProcess, targets: _Targets,
             units: Iterator[tuple[int, dict]], clients: int, seconds: float) -> FloorRate:
    lock = threading.Lock()
    written = itertools.count()
    barrier = threading.Barrier(clients + 1)
    deadline: list[float] = []

    def client() -> None:
        with requests.Session() as session:
            session.trust_env = False  # loopback: skip per-request proxy/netrc lookups
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                with lock:
                    number, body = next(units)
                _write_unit(session, dataservice.url, targets, number, body, written)

    threads = [threading.Thread(target=client, name=f"floor-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before, client_before = dataservice.cpu_seconds(), time.process_time()
    began = time.perf_counter()
    deadline.append(began + seconds)
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    writes = next(written)
    client = time.process_time() - client_before
    server = dataservice.cpu_seconds() - cpu_before
    per_write = 1e6 / max(writes, 1)
    return FloorRate(clients, writes, elapsed, server * per_write, client * per_write)


def _write_unit(session: requests.Session, url: str, targets: _Targets, number: int,
                body: dict, written: itertools.count) -> None:
    file_id = _post(session, url, "/genomic-files", body)
    next(written)
    for path, field, ids in (("/biospecimen-genomic-files", "biospecimen_id", targets.biospecimens),
                             ("/sequencing-experiment-genomic-files", "sequencing_experiment_id",
                              targets.experiments)):
        _post(session, url, path, {"genomic_file_id": file_id, field: ids[number % TARGETS]})
        next(written)


def _post(session: requests.Session, url: str, path: str, body: dict) -> str:
    response = session.post(url + path, json=body, timeout=TIMEOUT)
    if response.status_code != 201:
        raise RuntimeError(f"write floor: POST {path} answered {response.status_code}: "
                           f"{response.text[:200]}")
    return response.json()["results"]["kf_id"]

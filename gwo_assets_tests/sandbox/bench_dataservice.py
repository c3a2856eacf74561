"""Sustained link-POST rate of the sandbox DataService (not collected by pytest).

Run: ``python -m gwo_assets_tests.sandbox.bench_dataservice [seconds]``. The
server runs in its own process, as it does under the CLI, so the clients
(threads, each with its own keep-alive ``requests.Session``) do not share its
interpreter lock. Each POST creates a new biospecimen-genomic-file or
sequencing-experiment-genomic-file link, alternating.
"""

import itertools
import multiprocessing
import sys
import threading
import time
from multiprocessing.connection import Connection

import requests

from gwo_assets.sandbox.dataservice import SandboxDataService

TARGETS_PER_KIND = 25
PAIRS_PER_SECOND = 5000  # more link pairs than any run can use


def _serve(pipe: Connection) -> None:
    """Subprocess: run a sandbox, send its URL; on request, send its CPU seconds so far."""
    with SandboxDataService() as service:
        pipe.send(service.url)
        while pipe.recv() == "cpu":
            pipe.send(time.process_time())


def _create(session: requests.Session, url: str, path: str, body: dict) -> str:
    response = session.post(url + path, json=body, timeout=30)
    response.raise_for_status()
    return response.json()["results"]["kf_id"]


def _link_jobs(url: str, files: int) -> list[tuple[str, dict]]:
    """Create a study to link into; (path, body) of every possible new link."""
    with requests.Session() as s:
        study = _create(s, url, "/studies", {"external_id": "bench"})
        center = _create(s, url, "/sequencing-centers", {"name": "bench center"})
        participant = _create(s, url, "/participants", {"study_id": study})
        specimens = [_create(s, url, "/biospecimens", {
            "participant_id": participant, "sequencing_center_id": center,
            "analyte_type": "DNA"}) for _ in range(TARGETS_PER_KIND)]
        experiments = [_create(s, url, "/sequencing-experiments", {
            "external_id": f"SE-{i}", "experiment_strategy": "WGS", "is_paired_end": True,
            "platform": "Illumina", "sequencing_center_id": center})
            for i in range(TARGETS_PER_KIND)]
        file_ids = [_create(s, url, "/genomic-files", {
            "urls": [f"s3://bench/{i}.cram"], "hashes": {"md5": f"{i:032x}"}, "size": i})
            for i in range(files)]
    jobs = []
    for file_id in file_ids:
        for specimen, experiment in zip(specimens, experiments):
            jobs.append(("/biospecimen-genomic-files", {"biospecimen_id": specimen,
                                                        "genomic_file_id": file_id}))
            jobs.append(("/sequencing-experiment-genomic-files", {
                "sequencing_experiment_id": experiment, "genomic_file_id": file_id}))
    return jobs


def measure_link_post_rate(clients: int, seconds: float) -> float:
    """Successful link POSTs per second with ``clients`` concurrent keep-alive clients."""
    return _measure(clients, seconds)[0]


def _measure(clients: int, seconds: float) -> tuple[float, float]:
    """(link POSTs per second, server CPU microseconds per POST)."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,))
    server.start()
    try:
        url = parent.recv()
        files = int(PAIRS_PER_SECOND * seconds / (2 * TARGETS_PER_KIND)) + 1
        jobs = iter(_link_jobs(url, files))
        jobs_lock = threading.Lock()
        created = itertools.count()
        start = threading.Barrier(clients + 1)
        deadline: list[float] = []

        def client() -> None:
            with requests.Session() as session:
                session.trust_env = False  # loopback: skip the per-request proxy/netrc lookups
                start.wait()
                while time.perf_counter() < deadline[0]:
                    with jobs_lock:
                        path, body = next(jobs)
                    if session.post(url + path, json=body, timeout=30).status_code == 201:
                        next(created)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        parent.send("cpu")
        cpu_before = parent.recv()
        began = time.perf_counter()
        deadline.append(began + seconds)
        start.wait()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        parent.send("cpu")
        posts = next(created)
        return posts / elapsed, (parent.recv() - cpu_before) / posts * 1e6
    finally:
        parent.send("stop")
        server.join(timeout=30)


if __name__ == "__main__":
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    for count in (1, 4, 16):
        rate, server_cpu = _measure(count, duration)
        print(f"{count:>2} clients: {rate:,.0f} link POSTs/s over {duration:g} s "
              f"(server CPU {server_cpu:,.0f} us per POST)")

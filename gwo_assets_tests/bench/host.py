"""Sandbox servers in their own processes, so the pipeline under test has a core of its own.

The sandbox DataService and moto share nothing with the benchmark's process:
each runs in a spawned child (as under ``python -m gwo_assets.sandbox up``),
the pipeline's client threads do not queue behind the server's interpreter
lock, and the child reports its own CPU seconds so server cost can be told
apart from client cost on a busy machine.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

import requests

from gwo_assets.sandbox.dataservice import SandboxDataService
from gwo_assets.sandbox.s3 import SandboxS3

_SERVERS = {"dataservice": SandboxDataService, "s3": SandboxS3}


def _serve(kind: str, pipe: Connection, options: dict[str, Any]) -> None:
    """Child process: start one sandbox server, send its URL, answer CPU queries until told to stop."""
    with _SERVERS[kind](**options) as server:
        pipe.send(server.url if kind == "dataservice" else server.endpoint_url)
        while pipe.recv() == "cpu":
            pipe.send(time.process_time())


class ServerProcess:
    """One sandbox server (``dataservice`` or ``s3``) in a spawned child process."""

    def __init__(self, kind: str, **options: Any) -> None:
        if kind not in _SERVERS:
            raise ValueError(f"kind must be one of {sorted(_SERVERS)}, got {kind!r}")
        self.kind = kind
        self.url = ""
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(kind, child, options),
                                        name=f"bench-{kind}", daemon=True)

    def __enter__(self) -> ServerProcess:
        self._process.start()
        self.url = self._pipe.recv()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._pipe.send("stop")
        except OSError:
            pass
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far."""
        self._pipe.send("cpu")
        return self._pipe.recv()


class DataServiceProcess(ServerProcess):
    """The sandbox DataService in a child, with its request counters read over HTTP.

    ``filler_files`` other studies' genomic files are in it from the start (copied
    from the template in ``filler_cache``; see ``gwo_assets/sandbox/dataservice/filler.py``).
    """

    def __init__(self, filler_files: int = 0, filler_cache: str | None = None) -> None:
        super().__init__("dataservice", filler_files=filler_files, filler_cache=filler_cache)

    def stats(self) -> dict[str, Any]:
        """``{"requests": {"METHOD /collection": n}, "writes": n}`` since the last reset."""
        return requests.get(f"{self.url}/_sandbox/stats", timeout=30).json()

    def reset_counts(self) -> None:
        requests.post(f"{self.url}/_sandbox/reset-stats", timeout=30).raise_for_status()

    def set_latency_ms(self, latency_ms: int) -> None:
        """Delay every answer by ``latency_ms``, like a DataService across a network (0: off)."""
        settings = {"latency_ms": latency_ms} if latency_ms else {}
        requests.post(f"{self.url}/_sandbox/faults", json=settings, timeout=30).raise_for_status()

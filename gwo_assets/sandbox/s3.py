"""A local S3 (moto's server, in a thread) that needs no real AWS account.

moto keeps its state in process-wide backends: every ``SandboxS3`` in one
process serves the same buckets. The first one started in a process wipes that
state, so a fresh sandbox starts empty, like a new moto process would.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
from typing import Any

import botocore.loaders
import botocore.session
import requests
from botocore.config import Config
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

REGION = "us-east-1"
DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"
# botocore session variables: (config-file key, env vars, default, converter).
_IGNORE_AWS_CONFIG_FILES = {
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
}

_live_lock = threading.Lock()
_live_servers = 0


class _QuietRequestHandler(MotoRequestHandler):
    """No access-log line per request: a study upload makes thousands."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SandboxS3:
    """moto's S3 on ``host:port`` (a free port when 0) with ready-made clients.

    Same pieces as moto's ``ThreadedMotoServer``, but the socket is bound in
    the caller's thread, so a busy port raises ``OSError`` from ``start()``
    (``ThreadedMotoServer`` would hang waiting for its thread instead).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0) -> None:
        self.host = host
        self.port = port
        self.latency_ms = latency_ms  # added to every answer, as a remote S3's round trip
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SandboxS3 is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxS3:
        global _live_servers
        if self._server is not None:
            return self
        # Bind here: werkzeug would print and sys.exit(1) on a busy port.
        with socket.create_server((self.host, self.port)) as listener:
            app = _delayed(DomainDispatcherApplication(create_backend_app), self.latency_ms)
            self._server = make_server(self.host, self.port, app, threaded=True,
                                       request_handler=_QuietRequestHandler, fd=listener.fileno())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"sandbox-s3-{self.port}", daemon=True
        )
        self._thread.start()
        with _live_lock:
            first = _live_servers == 0
            _live_servers += 1
        if first:
            requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
        return self

    def stop(self) -> None:
        global _live_servers
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None
        with _live_lock:
            _live_servers -= 1

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server; never looks at real AWS credentials."""
        return make_client(self.endpoint_url, **config)

    def __enter__(self) -> SandboxS3:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _delayed(app: Any, latency_ms: int) -> Any:
    """The WSGI app, answering each request ``latency_ms`` later (threaded: in parallel)."""
    if not latency_ms:
        return app

    def delayed(environ: dict, start_response: Any) -> Any:
        time.sleep(latency_ms / 1000)
        return app(environ, start_response)

    return delayed


def make_client(endpoint_url: str, **config: Any) -> Any:
    """botocore S3 client with dummy credentials passed explicitly (env untouched).

    Its botocore session ignores AWS_PROFILE and the AWS config files, so a
    user's AWS setup (or a profile that does not exist) cannot get in the way.
    Every sandbox client shares one loader of botocore's service models: loading
    them costs ~0.25 s of CPU, which every sandbox start paid once more.
    """
    isolated = botocore.session.Session(session_vars=_IGNORE_AWS_CONFIG_FILES)
    isolated.register_component("data_loader", _shared_loader())
    options = {"s3": {"addressing_style": "path"}, "max_pool_connections": 16, **config}
    return isolated.create_client(
        "s3", region_name=REGION, endpoint_url=endpoint_url, config=Config(**options),
        aws_access_key_id=DUMMY_ACCESS_KEY_ID, aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY)


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()

"""The sandbox DataService as a real HTTP/1.1 server on loopback.

A stdlib threaded server (a thread per keep-alive connection) is enough: the
SQLite store does the heavy lifting, and each reply goes out in one write
with Nagle disabled so keep-alive clients never wait on delayed ACKs.
"""

import json
import shutil
import socket
import tempfile
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from gwo_assets.sandbox.dataservice.app import DataServiceApp
from gwo_assets.sandbox.dataservice.faults import FaultConfig
from gwo_assets.sandbox.dataservice.store import Store


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "_HttpServer"

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.app.handle(self.command, self.path, body)
        if reply.body is None:
            self.close_connection = True  # the work is done; the answer is "lost"
            return
        payload = json.dumps(reply.body, sort_keys=True).encode()
        head = (f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n")
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n" + payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a sandbox under load would flood the test output."""


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: DataServiceApp) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: socket.socket, client_address: object) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections."""
        with self._open_lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class SandboxDataService:
    """A local Kids First DataService on SQLite: ``start()``, use ``url``, ``stop()``.

    ``port=0`` picks a free port; ``db_path=None`` uses a temporary database
    that ``stop()`` deletes. Request counts are also served at
    ``GET /_sandbox/stats`` (reset by ``POST /_sandbox/reset-stats``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, db_path: str | None = None,
                 faults: FaultConfig | None = None) -> None:
        self.host = host
        self.port = port
        self.db_path = db_path
        self._faults = faults
        self._temp_dir: str | None = None
        self._store: Store | None = None
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._app: DataServiceApp | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SandboxDataService":
        if self._server is not None:
            raise RuntimeError("the sandbox DataService is already running")
        if self.db_path is None:
            self._temp_dir = tempfile.mkdtemp(prefix="gwo-sandbox-dataservice-")
            self.db_path = str(Path(self._temp_dir) / "dataservice.sqlite3")
        self._store = Store(self.db_path)
        self._app = DataServiceApp(self._store, self._faults)
        self._server = _HttpServer((self.host, self.port), self._app)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-dataservice-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        self._thread.join()
        self._store.close()
        self._server = self._thread = self._store = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = self.db_path = None

    def __enter__(self) -> "SandboxDataService":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def request_counts(self) -> dict[str, int]:
        """Requests received per ``"METHOD /collection"`` (e.g. ``"POST /genomic-files"``)."""
        return self._started_app().stats.request_counts()

    def write_count(self) -> int:
        """POST/PATCH/DELETE requests that changed state."""
        return self._started_app().stats.write_count()

    def reset_counts(self) -> None:
        self._started_app().stats.reset()

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Turn fault injection on, off or to another seed while running."""
        self._faults = faults
        self._started_app().set_faults(faults)

    def _started_app(self) -> DataServiceApp:
        if self._app is None:
            raise RuntimeError("the sandbox DataService was never started: call start()")
        return self._app

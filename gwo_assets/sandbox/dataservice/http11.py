"""A minimal threaded HTTP/1.1 keep-alive server for the sandbox DataService.

``http.server`` parses headers with the email package, which cost more CPU
than the API call behind it; the sandbox only ever sees plain requests from
HTTP clients (no chunked bodies, no pipelining tricks), so a small loop over
``socketserver`` serves them. Each reply goes out in one write with Nagle
disabled, so keep-alive clients never wait on delayed ACKs.
"""

import json
import socket
import socketserver
import threading
from collections.abc import Callable
from http import HTTPStatus

from gwo_assets.sandbox.dataservice.api_errors import BAD_REQUEST

MAX_LINE = 65536
MAX_HEADERS = 100

# (method, target, body, Authorization header) -> (status, JSON body); a None body means:
# close, don't answer.
Responder = Callable[[str, str, bytes, str | None], tuple[int, dict | None]]


class _Handler(socketserver.StreamRequestHandler):
    disable_nagle_algorithm = True
    server: "HttpServer"

    def handle(self) -> None:
        try:
            while self._handle_one():
                pass
        except (ConnectionError, TimeoutError):
            pass  # the client went away (or the server is stopping)

    def _handle_one(self) -> bool:
        """Answer one request; False when the connection is to be closed."""
        request_line = self.rfile.readline(MAX_LINE)
        if not request_line:
            return False
        parts = request_line.decode("latin-1").split()
        headers = self._read_headers()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or headers is None:
            return self._reject()
        method, target, version = parts
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        if "transfer-encoding" in headers:
            return self._reject()  # chunked bodies: never sent by the clients we serve
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return self._reject()
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.rfile.read(length) if length > 0 else b""
        status, reply = self.server.respond(method, target, body, headers.get("authorization"))
        if reply is None:
            return False  # a lost response: the work is done, the answer never comes
        self._send(status, reply, keep_alive, with_body=method != "HEAD")
        return keep_alive

    def _read_headers(self) -> dict[str, str] | None:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            line = self.rfile.readline(MAX_LINE)
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return None

    def _reject(self) -> bool:
        self._send(400, {"_status": {"code": 400, "message": BAD_REQUEST}}, keep_alive=False)
        return False

    def _send(self, status: int, reply: dict, keep_alive: bool, with_body: bool = True) -> None:
        payload = json.dumps(reply, sort_keys=True).encode()
        head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n"
                + ("" if keep_alive else "Connection: close\r\n") + "\r\n")
        self.wfile.write(head.encode() + (payload if with_body else b""))


class HttpServer(socketserver.ThreadingTCPServer):
    """A thread per connection; ``close_connections`` unblocks idle keep-alive threads."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], respond: Responder) -> None:
        super().__init__(address, _Handler)
        self.respond = respond
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

    def close_connections(self) -> None:
        with self._open_lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

"""The HTTP/1.1 layer, spoken over a raw socket: keep-alive, framing and bad requests."""

import json
import socket
from urllib.parse import urlsplit

import pytest


@pytest.fixture
def connection(dataservice):
    address = urlsplit(dataservice.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        yield sock, sock.makefile("rb")


def _exchange(connection, request: bytes, *, with_body: bool = True
              ) -> tuple[str, dict[str, str], bytes]:
    sock, reader = connection
    sock.sendall(request)
    status = reader.readline().decode().strip()
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    length = int(headers.get("content-length", 0)) if with_body else 0
    return status, headers, reader.read(length)


def test_several_requests_share_one_keep_alive_connection(connection):
    body = json.dumps({"external_id": "phs1"}).encode()
    post = (b"POST /studies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)

    created = _exchange(connection, post)
    listed = _exchange(connection, b"GET /studies HTTP/1.1\r\nHost: x\r\n\r\n")

    assert created[0] == "HTTP/1.1 201 Created"
    assert created[1]["content-type"] == "application/json"
    assert listed[0] == "HTTP/1.1 200 OK" and json.loads(listed[2])["total"] == 1
    assert "connection" not in listed[1]


def test_connection_close_is_honoured(connection):
    status, headers, _ = _exchange(connection, b"GET /status HTTP/1.1\r\nConnection: close\r\n\r\n")

    assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close"
    assert connection[1].read() == b""  # the server closed its end


def test_head_answers_without_a_body(connection):
    status, headers, _ = _exchange(connection, b"HEAD /studies HTTP/1.1\r\n\r\n",
                                   with_body=False)
    status_after, _, _ = _exchange(connection, b"GET /status HTTP/1.1\r\n\r\n")

    assert status == "HTTP/1.1 405 Method Not Allowed" and int(headers["content-length"]) > 0
    assert status_after == "HTTP/1.1 200 OK"  # no stray body was left on the connection


def test_expect_continue_is_answered_before_the_body(connection):
    sock, reader = connection
    sock.sendall(b"POST /studies HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 23\r\n\r\n")
    assert reader.readline() == b"HTTP/1.1 100 Continue\r\n" and reader.readline() == b"\r\n"

    status, _, _ = _exchange(connection, b'{"external_id": "phs1"}')
    assert status == "HTTP/1.1 201 Created"


@pytest.mark.parametrize("request_bytes", [
    b"NONSENSE\r\n\r\n",
    b"POST /studies HTTP/1.1\r\nContent-Length: lots\r\n\r\n",
    b"POST /studies HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
])
def test_unframeable_requests_get_a_400_and_a_closed_connection(connection, request_bytes):
    status, headers, body = _exchange(connection, request_bytes)

    assert status == "HTTP/1.1 400 Bad Request" and headers["connection"] == "close"
    assert json.loads(body)["_status"]["code"] == 400

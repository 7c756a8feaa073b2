"""Requests the HTTP parser refuses before any route sees them still get `{"detail"}` JSON
from the installed `upmetr serve`, with aiohttp's status and the limit that was passed."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.upmetr_server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("protocol") / "data")
    process.start()
    yield process
    assert process.stop() == 0


def send_raw(server: ServerProcess, request: bytes) -> tuple[int, str, dict]:
    """Status, content type and JSON body of the answer to bytes no HTTP client would send."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):  # the server closes after an error
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers["Content-Type"], json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "detail"),
    [
        pytest.param(
            b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "Bad Request: the request line or a header is longer than 8190 bytes",
            id="request line over 8 KiB",
        ),
        pytest.param(
            b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
            "Bad Request: the request line or a header is longer than 8190 bytes",
            id="header over 8 KiB",
        ),
        pytest.param(
            b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
            "Bad Request: Invalid method encountered",
            id="bad method",
        ),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            "Bad Request: Invalid header token",
            id="malformed header",
        ),
    ],
)
def test_a_request_the_parser_refuses_gets_a_json_detail(
    server: ServerProcess, request_bytes: bytes, detail: str
) -> None:
    status, content_type, body = send_raw(server, request_bytes)
    assert status == 400
    assert content_type.startswith("application/json")
    assert body == {"detail": detail}


def test_a_body_over_the_servers_limit_gets_a_json_413_naming_it(server: ServerProcess) -> None:
    answer = httpx.post(
        f"{server.url}/api/v1/auth/login",
        content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413
    assert "limit" in answer.json()["detail"] or "Maximum" in answer.json()["detail"]


def test_a_refused_request_is_logged_as_one_warning_line_without_a_traceback(
    server: ServerProcess,
) -> None:
    send_raw(server, b"G@T /probe HTTP/1.1\r\nHost: x\r\n\r\n")
    log = server.log()
    assert "WARNING upmetr.http: refused a request from 127.0.0.1" in log
    assert "Traceback" not in log and " ERROR " not in log

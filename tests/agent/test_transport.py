"""The agent's own HTTP/1.1 client against real servers: aiohttp over TCP and TLS, and a
bare socket server for what aiohttp does not do on demand."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from agent.transport import Endpoint, TransportError, Url, parse_url
from tests.agent.standins import self_signed


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("https://upmetr.example.com", Url(True, "upmetr.example.com", 443, "")),
        ("http://10.0.0.5:8080/", Url(False, "10.0.0.5", 8080, "")),
        ("https://example.com/upmetr/", Url(True, "example.com", 443, "/upmetr")),
        ("http://[::1]:9000/base", Url(False, "::1", 9000, "/base")),
    ],
)
def test_server_urls_are_read_with_their_port_and_base_path(url: str, parsed: Url) -> None:
    assert parse_url(url) == parsed


@pytest.mark.parametrize("url", ["upmetr.example.com", "ftp://x", "https://", "http://h:port"])
def test_what_is_not_an_http_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {"path": request.path_qs, "host": request.host, "length": len(body)},
        headers={"X-Seen": request.headers.get("X-Test", "")},
    )


async def big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(40):
        await response.write(b"x" * 10_000)
    await response.write_eof()
    return response


@pytest.fixture
async def app_url(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """The same app over HTTP and over HTTPS (a self-signed certificate): their URLs."""
    app = web.Application()
    app.router.add_route("*", "/base/echo", echo)
    app.router.add_get("/base/big", big)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    context, cert = self_signed(str(tmp_path))
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    (_, plain), (_, tls) = ((a[0], a[1]) for a in runner.addresses)
    (tmp_path / "cert-path").write_text(cert)
    yield f"http://127.0.0.1:{plain}/base", f"https://127.0.0.1:{tls}/base"
    await runner.cleanup()


async def test_requests_on_one_kept_alive_connection_carry_headers_and_body(
    app_url: tuple[str, str],
) -> None:
    endpoint = Endpoint(app_url[0])
    first = await asyncio.to_thread(
        endpoint.request, "POST", "/echo?x=1", body=b"abc", headers={"X-Test": "yes"}
    )
    connection = endpoint._sock
    second = await asyncio.to_thread(endpoint.request, "GET", "/echo")
    assert endpoint._sock is connection  # kept alive
    endpoint.close()
    assert first.status == 200 and first.headers["x-seen"] == "yes"
    assert json.loads(first.body) == {
        "path": "/base/echo?x=1",
        "host": app_url[0].split("//")[1].split("/")[0],
        "length": 3,
    }
    assert json.loads(second.body)["length"] == 0


async def test_a_chunked_answer_is_read_whole(app_url: tuple[str, str]) -> None:
    endpoint = Endpoint(app_url[0])
    answer = await asyncio.to_thread(endpoint.request, "GET", "/big")
    endpoint.close()
    assert answer.body == b"x" * 400_000


async def test_https_is_verified_against_the_trusted_certificates(
    app_url: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    untrusted = Endpoint(app_url[1])
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        await asyncio.to_thread(untrusted.request, "GET", "/echo")

    monkeypatch.setenv("SSL_CERT_FILE", (tmp_path / "cert-path").read_text())
    trusted = Endpoint(app_url[1])
    answer = await asyncio.to_thread(trusted.request, "GET", "/echo")
    trusted.close()
    assert answer.status == 200


def serve_then_close(listener: socket.socket, answers: int) -> None:
    """Answers one request per connection, then closes it without saying so (as a server
    whose keep-alive timeout ran out while the client was idle)."""
    for _ in range(answers):
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
    listener.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_once() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = threading.Thread(target=serve_then_close, args=(listener, 2))
    server.start()
    endpoint = Endpoint(f"http://127.0.0.1:{port}", timeout=5)
    assert endpoint.request("POST", "/", body=b"1").status == 202
    assert endpoint.request("POST", "/", body=b"2").status == 202
    server.join(5)
    endpoint.close()


def test_no_server_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError, match="ConnectionRefusedError"):
        Endpoint(f"http://127.0.0.1:{port}", timeout=2).request("GET", "/")

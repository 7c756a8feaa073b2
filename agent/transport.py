"""HTTP/1.1 with keep-alive over TCP, TLS or a unix socket, on the standard library.

Not httpx: importing httpx alone takes the agent's process from ~23 MB to ~30 MB of RSS, over
its whole budget (docs/agents.md, "Footprint"); http.client does the two things the agent
needs (a JSON POST to the server, GETs on Docker's socket) for what ssl costs anyway.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
from typing import NamedTuple
from urllib.parse import urlsplit


class TransportError(Exception):
    """No answer: refused, reset, timed out, or not HTTP."""


class Response(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client on a unix socket (Docker's /var/run/docker.sock)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def tls_context() -> ssl.SSLContext:
    """A verifying client context that reads CA certificates when a handshake needs one.

    ssl.create_default_context() parses the whole system bundle up front, ~2.5 MB of RSS held
    for the life of the process; OpenSSL looks a hashed CA directory up lazily instead
    (SSL_CTX_load_verify_locations(3)). SSL_CERT_FILE, when set, is honoured as given."""
    paths = ssl.get_default_verify_paths()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not os.environ.get("SSL_CERT_FILE") and paths.capath and os.path.isdir(paths.capath):
        context.load_verify_locations(capath=paths.capath)
    else:
        context.load_default_certs()
    return context


class Endpoint:
    """One kept-alive connection to one server, reopened when it breaks."""

    def __init__(
        self,
        url: str | None = None,
        *,
        unix_socket: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.timeout = timeout
        self._unix_socket = unix_socket
        self._host = "localhost"
        self._port: int | None = None
        self._tls = False
        if url is not None:
            parts = urlsplit(url)
            self._tls = parts.scheme == "https"
            self._host = parts.hostname or "localhost"
            self._port = parts.port
            self.base_path = parts.path.rstrip("/")
        else:
            self.base_path = ""
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._unix_socket is not None:
            return UnixHTTPConnection(self._unix_socket, self.timeout)
        if self._tls:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=tls_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request. A kept-alive connection the server closed while idle is
        retried once on a new one; any other failure is a TransportError."""
        for attempt in (1, 2):
            reused = self._connection is not None
            if self._connection is None:
                self._connection = self._connect()
            try:
                self._connection.request(
                    method, self.base_path + path, body=body, headers=headers or {}
                )
                answer = self._connection.getresponse()
                payload = answer.read()
            except (OSError, http.client.HTTPException) as error:
                self.close()
                stale = isinstance(
                    error,
                    http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError,
                )
                if attempt == 1 and reused and stale:
                    continue
                raise TransportError(f"{type(error).__name__}: {error}") from None
            if answer.will_close:
                self.close()
            return Response(
                answer.status, {name.lower(): value for name, value in answer.getheaders()}, payload
            )
        raise AssertionError("unreachable")

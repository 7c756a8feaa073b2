"""HTTP/1.1 with keep-alive over TCP, TLS or a unix socket, on sockets alone.

The agent sends one kind of request (a JSON POST to its server, GETs on Docker's socket) and
has ~25 MB of RSS for everything, so it carries its own small client (measured, in MB of RSS
of a Python process: `import httpx` +19, http.client +1 beyond ssl, for the email package
it parses headers with; see docs/agents.md, "Footprint"). ssl is imported only for an https
server: over plain HTTP or a unix socket the agent never loads OpenSSL.

Enough of RFC 9112 for two known peers (aiohttp, Docker's Go net/http): a body by
Content-Length, chunked, or up to the close; no 1xx, no trailers kept, no pipelining.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import ssl

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024


class TransportError(Exception):
    """No usable answer: refused, reset, timed out, or not HTTP."""


class Response(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class Url(NamedTuple):
    tls: bool
    host: str
    port: int
    path: str  # the base path, without a trailing slash


def parse_url(url: str) -> Url:
    """`https://host[:port][/base]`, host a name, an IPv4 address or an [IPv6] one."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    tls = scheme.lower() == "https"
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        raise ValueError("user:password@ in a server URL is not supported")
    host, port = authority, 443 if tls else 80
    if authority.startswith("["):
        end = authority.index("]")
        host, tail = authority[1:end], authority[end + 1 :]
        if tail.startswith(":"):
            port = int(tail[1:])
    elif ":" in authority:
        host, _, number = authority.rpartition(":")
        port = int(number)
    if not host:
        raise ValueError(f"no host in {url!r}")
    return Url(tls, host, port, ("/" + path).rstrip("/") if slash else "")


def tls_context() -> ssl.SSLContext:
    """A verifying client context that reads CA certificates when a handshake needs one.

    ssl.create_default_context() parses the whole system bundle up front, ~1 MB of RSS held
    for the life of the process; OpenSSL looks a hashed CA directory up lazily instead
    (SSL_CTX_load_verify_locations(3)). SSL_CERT_FILE, when set, is honoured as given."""
    import os
    import ssl

    paths = ssl.get_default_verify_paths()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not os.environ.get("SSL_CERT_FILE") and paths.capath and os.path.isdir(paths.capath):
        context.load_verify_locations(capath=paths.capath)
    else:
        context.load_default_certs()
    return context


class _Reader:
    """Buffered reads from a socket, by line or by count."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise TransportError("connection closed before the answer ended")
        self.buffer += data

    def line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                return line
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise TransportError("answer header too long")
            self._fill()

    def exactly(self, count: int) -> bytes:
        if count > MAX_BODY_BYTES:
            raise TransportError(f"answer body too large ({count} bytes)")
        while len(self.buffer) < count:
            self._fill()
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def until_close(self) -> bytes:
        while True:
            try:
                self._fill()
            except TransportError:
                break
            if len(self.buffer) > MAX_BODY_BYTES:
                raise TransportError("answer body too large")
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class Endpoint:
    """One kept-alive connection to one server, reopened when it breaks."""

    def __init__(
        self, url: str | None = None, *, unix_socket: str | None = None, timeout: float = 10.0
    ) -> None:
        if (url is None) == (unix_socket is None):
            raise ValueError("an Endpoint has a URL or a unix socket")
        self.timeout = timeout
        self._unix_socket = unix_socket
        self._url = parse_url(url) if url is not None else Url(False, "localhost", 0, "")
        self._tls: ssl.SSLContext | None = None
        self._sock: socket.socket | None = None
        self._reader: _Reader | None = None

    @property
    def host_header(self) -> str:
        url = self._url
        default = 443 if url.tls else 80
        host = f"[{url.host}]" if ":" in url.host else url.host
        return host if self._unix_socket or url.port == default else f"{host}:{url.port}"

    def _connect(self) -> socket.socket:
        if self._unix_socket is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self._unix_socket)
            except OSError:
                sock.close()
                raise
            return sock
        sock = socket.create_connection((self._url.host, self._url.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._url.tls:
            if self._tls is None:
                self._tls = tls_context()
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self._url.host)
            except OSError:
                sock.close()
                raise
        return sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._reader = None

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
        lines = [f"{method} {self._url.path}{path} HTTP/1.1", f"Host: {self.host_header}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        for attempt in (1, 2):
            reused = self._sock is not None
            try:
                if self._sock is None:
                    self._sock = self._connect()
                    self._reader = _Reader(self._sock)
                assert self._reader is not None
                self._sock.sendall(head + body if body else head)
                return self._answer(self._reader, method)
            except (OSError, TransportError, ValueError) as error:
                self.close()
                stale = isinstance(error, ConnectionResetError | BrokenPipeError) or (
                    isinstance(error, TransportError) and "closed before" in str(error)
                )
                if attempt == 1 and reused and stale:
                    continue
                if isinstance(error, TransportError):
                    raise
                raise TransportError(f"{type(error).__name__}: {error}") from None
        raise AssertionError("unreachable")

    def _answer(self, reader: _Reader, method: str) -> Response:
        status_line = reader.line()
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise TransportError(f"not an HTTP answer: {status_line[:60]!r}")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        while line := reader.line():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        closing = headers.get("connection", "").lower() == "close" or version == b"HTTP/1.0"
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._chunked(reader)
        elif "content-length" in headers:
            body = reader.exactly(int(headers["content-length"]))
        else:
            body, closing = reader.until_close(), True
        if closing:
            self.close()
        return Response(status, headers, body)

    @staticmethod
    def _chunked(reader: _Reader) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = int(reader.line().split(b";")[0].strip(), 16)
            if size == 0:
                while reader.line():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise TransportError("answer body too large")
            parts.append(reader.exactly(size))
            reader.exactly(2)  # the CRLF after each chunk

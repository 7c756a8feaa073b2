"""HTTP checks: `http` (status), `keyword` (a string present or absent in the body) and `json`
(a JSON path equals an expected value), over clients owned by the Checker.
"""

from __future__ import annotations

import json
import ssl
import time
from typing import Any

import httpx

from server.providers.checks.base import (
    AttemptResult,
    CheckProvider,
    CheckSpec,
    JsonStep,
    describe_expected_status,
    describe_os_error,
    elapsed_ms,
    format_seconds,
)
from server.providers.checks.tls import describe_tls_error, peer_certificate_expiry

USER_AGENT = "Upmetr-Uptime/0.1 (+https://upmetr.example/bot)"
# Keyword and JSON checks look at the first 2 MiB; a status page larger than that is unusual
# and reading more would let one big target eat the engine's memory.
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 10
_MISSING = object()


class HttpClients:
    """The Checker's HTTP clients: one per TLS trust setting (httpx fixes `verify` per client).

    Most checks share the default client. Keep-alive is off: a check should see the DNS, TCP and
    TLS work a visitor sees, and at a 60 s interval a kept connection would rarely be reused.
    """

    def __init__(self, *, max_connections: int):
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=0)
        self._clients: dict[tuple[bool, str | None], httpx.AsyncClient] = {}

    def for_spec(self, spec: CheckSpec) -> httpx.AsyncClient:
        key = (spec.verify_tls, spec.ca_bundle if spec.verify_tls else None)
        client = self._clients.get(key)
        if client is None:
            verify: bool | ssl.SSLContext = spec.verify_tls
            if spec.verify_tls and spec.ca_bundle:
                verify = ssl.create_default_context(cafile=spec.ca_bundle)
            client = httpx.AsyncClient(
                verify=verify,
                limits=self._limits,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": USER_AGENT},
                # Checks measure direct reachability; environment proxies would hide it.
                trust_env=False,
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def describe_http_error(exc: httpx.HTTPError, spec: CheckSpec) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout after {format_seconds(spec.timeout_seconds)}"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {MAX_REDIRECTS})"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL: {exc}"
    tls_error = describe_tls_error(exc)
    if tls_error is not None:
        return tls_error
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {exc}"
    host = httpx.URL(spec.url or "").host
    return describe_os_error(exc, host)


def follow_json_path(document: Any, steps: tuple[JsonStep, ...]) -> Any:
    """The value at `steps`, or _MISSING when a key or index is absent."""
    value = document
    for step in steps:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
            continue
        if isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
            continue
        return _MISSING
    return value


def json_value_matches(actual: Any, expected: str) -> bool:
    """Typed and textual comparison: "true" matches true, "5" matches 5 and 5.0, "null" None."""
    if isinstance(actual, str):
        return actual == expected
    try:
        parsed = json.loads(expected)
    except ValueError:
        return False
    if isinstance(actual, bool) or isinstance(parsed, bool):
        return actual is parsed
    return bool(actual == parsed)


def _display(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def evaluate_body(spec: CheckSpec, text: str) -> str | None:
    """Why the body fails the keyword or JSON rule, or None when it passes."""
    if spec.type == "keyword" and spec.keyword is not None:
        found = spec.keyword in text
        if found != spec.keyword_present:
            return f"keyword {spec.keyword!r} {'not found' if spec.keyword_present else 'found'}"
    if spec.type == "json" and spec.expected_value is not None:
        try:
            document = json.loads(text)
        except ValueError:
            return "response is not valid JSON"
        actual = follow_json_path(document, spec.json_steps)
        if actual is _MISSING:
            return f"{spec.json_path} not found in the response"
        if not json_value_matches(actual, spec.expected_value):
            return f"{spec.json_path} is {_display(actual)}, expected {spec.expected_value!r}"
    return None


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


class HttpCheck(CheckProvider):
    types = frozenset({"http", "keyword", "json"})

    def __init__(self, clients: HttpClients):
        self._clients = clients

    async def attempt(self, spec: CheckSpec) -> AttemptResult:
        """One HTTP request.

        1. Send the request (method, headers, body), following redirects if asked.
        2. With the response headers in and the connection still open, read the peer
           certificate's notAfter from the network stream (https only).
        3. Read the body (up to MAX_BODY_BYTES after content decoding) and stop the clock.
        4. Fail on an unexpected status ("expected status 200, got 503"), then on the keyword
           or JSON rule; transport errors become words (refused, TLS, timeout).
        """
        try:
            client = self._clients.for_spec(spec)
        except (OSError, ssl.SSLError) as exc:  # a missing or unreadable CA file
            return AttemptResult(ok=False, error=f"cannot load CA bundle {spec.ca_bundle}: {exc}")
        started = time.perf_counter()
        try:
            async with client.stream(
                spec.method,
                spec.url or "",
                headers=dict(spec.headers),
                content=spec.body,
                follow_redirects=spec.follow_redirects,
                timeout=spec.timeout_seconds,
            ) as response:
                stream = response.extensions.get("network_stream")
                ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
                tls_expires_at = peer_certificate_expiry(ssl_object)
                raw = await _read_limited(response, MAX_BODY_BYTES)
                response_time_ms = elapsed_ms(started)
        except httpx.HTTPError as exc:
            return AttemptResult(ok=False, error=describe_http_error(exc, spec))
        error: str | None = None
        if not spec.accepts_status(response.status_code):
            expected = describe_expected_status(spec.expected_status)
            error = f"expected status {expected}, got {response.status_code}"
        elif spec.type != "http":
            error = evaluate_body(spec, raw.decode(response.encoding or "utf-8", "replace"))
        return AttemptResult(
            ok=error is None,
            error=error,
            response_time_ms=response_time_ms,
            status_code=response.status_code,
            tls_expires_at=tls_expires_at,
        )

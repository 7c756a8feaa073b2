"""HTTP checks: `http` (status), `keyword` (a string present or absent in the body) and `json`
(a JSON path equals an expected value), over the aiohttp session owned by the Checker.
"""

from __future__ import annotations

import json
import ssl
import time
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import aiohttp
import yarl

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
from server.providers.outbound import PolicyResolver, TargetBlocked, TargetPolicy

USER_AGENT = "Upmetr-Uptime/0.1 (+https://upmetr.example/bot)"
# Keyword and JSON checks look at the first 2 MiB; a status page larger than that is unusual
# and reading more would let one big target eat the engine's memory.
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 10
_MISSING = object()


# The certificate expiry of each connection a check opens (a redirect opens more), noted
# by the connector while the connection is open: aiohttp may release and close a
# connection as soon as a short body is in, before the response is looked at.
_CERTIFICATES: ContextVar[list[datetime | None] | None] = ContextVar("certificates", default=None)


class PolicyConnector(aiohttp.TCPConnector):
    """Connects only where the policy allows, and notes each connection's certificate.

    Names are filtered by the PolicyResolver; a host written as an address skips aiohttp's
    resolver, so it is checked here, for the first request and every redirect hop alike.
    The peer is checked once more after connecting: the address actually connected to.
    """

    def __init__(self, policy: TargetPolicy, **kwargs: Any):
        super().__init__(resolver=PolicyResolver(policy), **kwargs)
        self._policy = policy

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        self._policy.check_literal(req.url.raw_host or "")
        connection = await super().connect(req, traces, timeout)
        transport = connection.transport
        if transport is not None:
            peer = transport.get_extra_info("peername")
            try:
                self._policy.check_literal(peer[0] if peer else "")
            except TargetBlocked:  # pragma: no cover - the resolver let nothing else through
                connection.close()
                raise
            seen = _CERTIFICATES.get()
            if seen is not None:
                seen.append(peer_certificate_expiry(transport.get_extra_info("ssl_object")))
        return connection


class HttpClients:
    """The Checker's HTTP transport: one aiohttp session, bounded to `max_connections`.

    aiohttp rather than httpx: a check is a whole connection (keep-alive is off: a check
    should see the DNS, TCP and TLS work a visitor sees, and at a 60 s interval a kept
    connection would rarely be reused), and httpx's per-request machinery cost about four
    times aiohttp's CPU per check (benchmarks/check_engine.py; docs/benchmarks.md).
    TLS trust is chosen per request (`ssl_for`), so every check shares the session. DNS is
    resolved for every check, as a visitor's would be; environment proxies are ignored,
    as checks measure direct reachability (aiohttp's trust_env is off). Every connection,
    redirects included, goes only where the outbound-target policy allows (`PolicyConnector`).
    """

    def __init__(self, *, max_connections: int):
        self._max_connections = max_connections
        # One session per policy: the tenants' one, and the server's own canary's.
        self._sessions: dict[TargetPolicy, aiohttp.ClientSession] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}

    def session(self, policy: TargetPolicy) -> aiohttp.ClientSession:
        session = self._sessions.get(policy)
        if session is None:
            connector = PolicyConnector(
                policy, limit=self._max_connections, force_close=True, use_dns_cache=False
            )
            session = self._sessions[policy] = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),  # checks share nothing between them
            )
        return session

    def ssl_for(self, spec: CheckSpec) -> bool | ssl.SSLContext:
        """The request's TLS trust; raises OSError or ssl.SSLError for a bad CA bundle."""
        if not spec.verify_tls:
            return False
        if not spec.ca_bundle:
            return True
        context = self._contexts.get(spec.ca_bundle)
        if context is None:
            context = ssl.create_default_context(cafile=spec.ca_bundle)
            self._contexts[spec.ca_bundle] = context
        return context

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()


def describe_http_error(exc: BaseException, spec: CheckSpec) -> str:
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return f"timeout after {format_seconds(spec.timeout_seconds)}"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return f"too many redirects (more than {MAX_REDIRECTS})"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL: {exc}"
    # aiohttp's TLS errors subclass the ssl ones they wrap, without their details.
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        exc = exc.certificate_error
    elif isinstance(exc, aiohttp.ClientConnectorSSLError):
        exc = exc.os_error
    tls_error = describe_tls_error(exc)
    if tls_error is not None:
        return tls_error
    host = yarl.URL(spec.url or "").host
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve host {host!r}" if host else "cannot resolve host"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return describe_os_error(exc.os_error, host)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return f"protocol error: {exc}"
    if isinstance(exc, aiohttp.ClientResponseError):  # a response that is not HTTP
        return f"protocol error: {' '.join(str(exc.message).split())}"  # on one line
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


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


class HttpCheck(CheckProvider):
    types = frozenset({"http", "keyword", "json"})

    def __init__(self, clients: HttpClients):
        self._clients = clients

    async def attempt(self, spec: CheckSpec, policy: TargetPolicy) -> AttemptResult:
        """One HTTP request.

        1. Send the request (method, headers, body), following redirects if asked; a hop
           to a target the policy refuses raises TargetBlocked.
        2. As each connection opens, the connector notes the peer certificate's notAfter
           (https only); the last connection's is the final response's.
        3. Read the body (up to MAX_BODY_BYTES after content decoding) and stop the clock.
        4. Fail on an unexpected status ("expected status 200, got 503"), then on the keyword
           or JSON rule; transport errors become words (refused, TLS, timeout).
        """
        try:
            trust = self._clients.ssl_for(spec)
        except (OSError, ssl.SSLError) as exc:  # a missing or unreadable CA file
            return AttemptResult(ok=False, error=f"cannot load CA bundle {spec.ca_bundle}: {exc}")
        certificates: list[datetime | None] = []
        _CERTIFICATES.set(certificates)  # this check's task's own context
        started = time.perf_counter()
        try:
            async with self._clients.session(policy).request(
                spec.method,
                spec.url or "",
                headers=dict(spec.headers),
                data=spec.body,
                allow_redirects=spec.follow_redirects,
                max_redirects=MAX_REDIRECTS,
                timeout=aiohttp.ClientTimeout(total=spec.timeout_seconds),
                ssl=trust,
            ) as response:
                raw = await _read_limited(response, MAX_BODY_BYTES)
                response_time_ms = elapsed_ms(started)
                status_code = response.status
                encoding = response.charset or "utf-8"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return AttemptResult(ok=False, error=describe_http_error(exc, spec))
        tls_expires_at = certificates[-1] if certificates else None  # the final response's
        error: str | None = None
        if not spec.accepts_status(status_code):
            expected = describe_expected_status(spec.expected_status)
            error = f"expected status {expected}, got {status_code}"
        elif spec.type != "http":
            try:
                text = raw.decode(encoding, "replace")
            except LookupError:  # a charset Python does not know
                text = raw.decode("utf-8", "replace")
            error = evaluate_body(spec, text)
        return AttemptResult(
            ok=error is None,
            error=error,
            response_time_ms=response_time_ms,
            status_code=status_code,
            tls_expires_at=tls_expires_at,
        )

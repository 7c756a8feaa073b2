"""The shared types of every check: what to check (CheckSpec), what came of it (CheckOutcome),
and the one base class that runs attempts with retries, timeouts and the degraded threshold.

A check type copies the shape of `tcp.py` (the smallest member): subclass `CheckProvider`,
name its `types`, implement `attempt()` for one try; the base class does the rest.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal

from server.providers.outbound import TargetPolicy, blocked_reason

CheckType = Literal["http", "keyword", "json", "tcp", "dns", "heartbeat"]
RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS"]
CheckStatus = Literal["up", "down", "degraded"]

HTTP_TYPES: frozenset[str] = frozenset({"http", "keyword", "json"})
RECORD_TYPES: frozenset[str] = frozenset({"A", "AAAA", "CNAME", "MX", "TXT", "NS"})

# `$`, then `.key`, `[3]` or `["key"]` / `['key']` steps: enough for status endpoints.
_JSON_STEP = re.compile(r"""\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[(?:"([^"]*)"|'([^']*)')\]""")
_STATUS_TERM = re.compile(r"^(?:([1-5])xx|(\d{3})(?:-(\d{3}))?)$", re.IGNORECASE)

JsonStep = str | int


def parse_expected_status(expected: int | str | Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Accepted codes as inclusive ranges: 200, "2xx", "200-299", "200,301,4xx", [200, 204]."""
    if isinstance(expected, bool):
        raise ValueError("expected_status must be a status code, a list of codes or a pattern")
    if isinstance(expected, int):
        terms: list[str] = [str(expected)]
    elif isinstance(expected, str):
        terms = [term.strip() for term in expected.split(",")]
    else:
        terms = [str(code) for code in expected]
    ranges: list[tuple[int, int]] = []
    for term in terms:
        match = _STATUS_TERM.match(term)
        if match is None:
            raise ValueError(
                f"expected_status {term!r} is not a code, a range or a pattern like 2xx"
            )
        if match[1]:
            ranges.append((int(match[1]) * 100, int(match[1]) * 100 + 99))
        else:
            low, high = int(match[2]), int(match[3] or match[2])
            if not 100 <= low <= high <= 599:
                raise ValueError(f"expected_status {term!r} is outside 100-599")
            ranges.append((low, high))
    if not ranges:
        raise ValueError("expected_status is empty")
    return tuple(ranges)


def describe_expected_status(expected: int | str | Sequence[int]) -> str:
    if isinstance(expected, int | str):
        return str(expected)
    return ", ".join(str(code) for code in expected)


def parse_json_path(path: str) -> tuple[JsonStep, ...]:
    """`$.a.b[0].c` -> ("a", "b", 0, "c"). Only dot keys, quoted keys and integer indexes."""
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError(f"JSON path {path!r} must start with $")
    steps: list[JsonStep] = []
    position = 1
    while position < len(text):
        match = _JSON_STEP.match(text, position)
        if match is None:
            raise ValueError(f"JSON path {path!r}: cannot read {text[position:]!r}")
        key, index, double_quoted, single_quoted = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(key if key is not None else (double_quoted or single_quoted or ""))
        position = match.end()
    return tuple(steps)


@dataclass(frozen=True, kw_only=True)
class CheckSpec:
    """What to check, built by the engine from a Monitor row; nonsense raises ValueError."""

    type: CheckType
    url: str | None = None
    host: str | None = None
    port: int | None = None
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | bytes | None = None
    expected_status: int | str | Sequence[int] = 200
    follow_redirects: bool = True
    verify_tls: bool = True
    # A CA file to trust instead of the system store (private CAs); used only when verify_tls.
    ca_bundle: str | None = None
    timeout_seconds: float = 30.0
    keyword: str | None = None
    keyword_present: bool = True
    json_path: str | None = None
    expected_value: str | None = None
    record_type: RecordType = "A"
    expected_answer: str | None = None
    # "1.1.1.1", "127.0.0.1:5353" or "[::1]:53"; None means the system's resolvers.
    resolver: str | None = None
    degraded_threshold_ms: float | None = None
    attempts: int = 3
    retry_delay_seconds: float = 1.0
    status_ranges: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    json_steps: tuple[JsonStep, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if self.retry_delay_seconds < 0:
            raise ValueError("retry_delay_seconds cannot be negative")
        object.__setattr__(self, "status_ranges", parse_expected_status(self.expected_status))
        steps: tuple[JsonStep, ...] = ()
        url = (self.url or "").lower()
        if self.type in HTTP_TYPES and not url.startswith(("http://", "https://")):
            raise ValueError(f"a {self.type} check needs an http:// or https:// url")
        if self.type == "keyword" and not self.keyword:
            raise ValueError("a keyword check needs a keyword")
        if self.type == "json":
            if not self.json_path or self.expected_value is None:
                raise ValueError("a json check needs json_path and expected_value")
            steps = parse_json_path(self.json_path)
        object.__setattr__(self, "json_steps", steps)
        if self.type == "tcp" and (not self.host or self.port is None):
            raise ValueError("a tcp check needs host and port")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ValueError("port must be within 1-65535")
        if self.type == "dns":
            if not self.host:
                raise ValueError("a dns check needs host (the name to resolve)")
            if self.record_type not in RECORD_TYPES:
                raise ValueError(f"record_type must be one of {', '.join(sorted(RECORD_TYPES))}")

    def accepts_status(self, code: int) -> bool:
        return any(low <= code <= high for low, high in self.status_ranges)


@dataclass(frozen=True, kw_only=True)
class CheckOutcome:
    status: CheckStatus
    checked_at: datetime
    attempts: int
    response_time_ms: float | None = None
    status_code: int | None = None
    error: str | None = None
    tls_expires_at: datetime | None = None
    tls_days_left: float | None = None


@dataclass(frozen=True, kw_only=True)
class AttemptResult:
    """One try. `response_time_ms` is set whenever the target answered, even with a failure."""

    ok: bool
    error: str | None = None
    response_time_ms: float | None = None
    status_code: int | None = None
    tls_expires_at: datetime | None = None


def blocked(reason: str) -> AttemptResult:
    return AttemptResult(ok=False, error=f"blocked: {reason}")


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def format_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def describe_os_error(exc: BaseException, host: str | None = None) -> str:
    """A connection failure in words, from the first OS-level cause in the exception chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, ConnectionResetError):
            return "connection reset by peer"
        if isinstance(current, socket.gaierror):
            return f"cannot resolve host {host!r}" if host else "cannot resolve host"
        if isinstance(current, OSError) and current.strerror:
            return current.strerror.lower()
        current = current.__cause__ or current.__context__
    return str(exc) or type(exc).__name__


class CheckProvider(ABC):
    """One check type (or a family sharing a transport, like http/keyword/json)."""

    types: ClassVar[frozenset[str]]

    @abstractmethod
    async def attempt(self, spec: CheckSpec, policy: TargetPolicy) -> AttemptResult:
        """One try at the target, connecting only where `policy` allows; failures are
        returned, not raised (a refused target may raise TargetBlocked)."""

    async def run(self, spec: CheckSpec, policy: TargetPolicy) -> CheckOutcome:
        """Run one check of one target.

        1. checked_at is the UTC time the check starts.
        2. Try up to `spec.attempts` times, `retry_delay_seconds` apart; stop at the first success.
        3. Each attempt runs inside `asyncio.timeout(timeout_seconds)` around the whole attempt
           (connect, TLS, request, body), so a slow trickling body cannot outlast the timeout;
           running out gives "timeout after N s".
        4. An unexpected exception in an attempt is a failed attempt, never a crashed engine.
           A target the policy refuses is "blocked: <why>" at once, without retries or a
           response time: nothing was sent, and nothing about the target is told.
        5. All attempts failed: down, with the last attempt's error, status code and timing.
        6. Succeeded: degraded when slower than `degraded_threshold_ms`, else up.
        7. TLS expiry and days left come from the last attempt that saw a certificate.
        """
        checked_at = datetime.now(UTC)
        result = AttemptResult(ok=False, error="not attempted")
        tls_expires_at: datetime | None = None
        used = 0
        for used in range(1, spec.attempts + 1):
            if used > 1:
                await asyncio.sleep(spec.retry_delay_seconds)
            try:
                async with asyncio.timeout(spec.timeout_seconds):
                    result = await self.attempt(spec, policy)
            except TimeoutError:
                result = AttemptResult(
                    ok=False, error=f"timeout after {format_seconds(spec.timeout_seconds)}"
                )
            except Exception as exc:
                reason = blocked_reason(exc)  # a library may wrap it
                if reason is not None:
                    result = blocked(reason)
                    break
                result = AttemptResult(ok=False, error=f"check failed: {exc!r}")
            tls_expires_at = result.tls_expires_at or tls_expires_at
            if result.ok:
                break
        status: CheckStatus = "down"
        error = result.error
        if result.ok:
            status = "up"
            threshold = spec.degraded_threshold_ms
            if threshold is not None and (result.response_time_ms or 0.0) > threshold:
                status = "degraded"
                error = f"response time {result.response_time_ms:.0f} ms above {threshold:g} ms"
        days_left = None
        if tls_expires_at is not None:
            days_left = round((tls_expires_at - checked_at).total_seconds() / 86400, 2)
        return CheckOutcome(
            status=status,
            checked_at=checked_at,
            attempts=used,
            response_time_ms=result.response_time_ms,
            status_code=result.status_code,
            error=error,
            tls_expires_at=tls_expires_at,
            tls_days_left=days_left,
        )

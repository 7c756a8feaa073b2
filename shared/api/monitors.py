"""Uptime monitors: configuration, state, uptime and latency, raw checks, maintenance windows."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator

from shared.api.common import (
    ApiModel,
    Name,
    OneLine,
    PageQuery,
    ReadModel,
    ShortText,
    UpdateModel,
    UtcDatetime,
)


class MonitorType(StrEnum):
    http = "http"
    keyword = "keyword"
    json = "json"
    tcp = "tcp"
    dns = "dns"
    heartbeat = "heartbeat"


class MonitorStatus(StrEnum):
    up = "up"
    down = "down"
    degraded = "degraded"
    pending = "pending"  # not checked yet
    paused = "paused"
    maintenance = "maintenance"
    unknown = "unknown"  # the server's own network was down


class CheckStatus(StrEnum):
    """The verdict of one check: a check is never `pending` or `paused` (those are a
    monitor's states between checks)."""

    up = "up"
    down = "down"
    degraded = "degraded"
    maintenance = "maintenance"
    unknown = "unknown"


class HttpMethod(StrEnum):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    OPTIONS = "OPTIONS"


class DnsRecordType(StrEnum):
    A = "A"
    AAAA = "AAAA"
    CNAME = "CNAME"
    MX = "MX"
    NS = "NS"
    TXT = "TXT"
    SOA = "SOA"
    CAA = "CAA"
    SRV = "SRV"


MAX_HEADERS = 50
Url = Annotated[OneLine, Field(min_length=1, max_length=2048)]
Host = Annotated[OneLine, Field(min_length=1, max_length=253)]
Tag = Annotated[OneLine, Field(min_length=1, max_length=50)]
Interval = Annotated[int, Field(ge=10, le=86_400, description="seconds between checks")]
Timeout = Annotated[int, Field(ge=1, le=120, description="seconds per attempt")]
Threshold = Annotated[int, Field(ge=1, le=100)]


class Header(ApiModel):
    """One request header; a list keeps order and allows a name to repeat (RFC 9110 5.3)."""

    name: str = Field(min_length=1, max_length=256, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
    value: str = Field(max_length=4096)

    @field_validator("value")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError("a header value cannot hold line breaks or NUL")
        return value


class _MonitorFields(ApiModel):
    """Fields shared by create and update; type-specific rules are checked by the server."""

    url: Url | None = Field(None, description="http, keyword, json: an http(s) URL")
    host: Host | None = Field(None, description="tcp, dns: host name or IP address")
    port: int | None = Field(None, ge=1, le=65_535, description="tcp")
    headers: list[Header] | None = Field(None, max_length=MAX_HEADERS)
    body: str | None = Field(None, max_length=65_536, description="request body")
    keyword: str | None = Field(None, min_length=1, max_length=1000)
    keyword_present: bool | None = Field(None, description="keyword: up when present (true)")
    json_path: str | None = Field(None, min_length=1, max_length=500, examples=["$.status"])
    expected_value: str | None = Field(None, max_length=1000)
    dns_record_type: DnsRecordType | None = None
    dns_expected: str | None = Field(None, max_length=1000, description="expected answer")
    dns_resolver: Host | None = Field(None, description="resolver IP (default: the system's)")
    degraded_threshold_ms: int | None = Field(None, ge=1, le=600_000)
    tags: list[Tag] | None = Field(None, max_length=50)


class MonitorCreate(_MonitorFields):
    name: Name
    type: MonitorType
    method: HttpMethod = HttpMethod.GET
    expected_status: int = Field(200, ge=100, le=599)
    follow_redirects: bool = True
    interval_seconds: Interval | None = Field(
        None,
        description="seconds between checks; default: the organization's default check "
        "interval (60 s unless changed), raised to the plan's minimum",
    )
    timeout_seconds: Timeout = 30
    failure_threshold: Threshold = 1
    recovery_threshold: Threshold = 2
    ssl_expiry_days: int = Field(14, ge=0, le=365)
    heartbeat_grace_seconds: int = Field(300, ge=0, le=86_400)
    paused: bool = False


class MonitorUpdate(_MonitorFields, UpdateModel):
    """Every field optional; null on an optional setting clears it."""

    not_null = frozenset({
        "name", "method", "expected_status", "follow_redirects", "interval_seconds",
        "timeout_seconds", "failure_threshold", "recovery_threshold", "ssl_expiry_days",
        "heartbeat_grace_seconds", "paused", "keyword_present",
    })  # fmt: skip

    name: Name | None = None
    method: HttpMethod | None = None
    expected_status: int | None = Field(None, ge=100, le=599)
    follow_redirects: bool | None = None
    interval_seconds: Interval | None = None
    timeout_seconds: Timeout | None = None
    failure_threshold: Threshold | None = None
    recovery_threshold: Threshold | None = None
    ssl_expiry_days: int | None = Field(None, ge=0, le=365)
    heartbeat_grace_seconds: int | None = Field(None, ge=0, le=86_400)
    paused: bool | None = None


class MonitorRead(ReadModel):
    id: int
    name: str
    type: MonitorType
    url: str | None
    host: str | None
    port: int | None
    method: HttpMethod
    headers: list[Header]
    body: str | None
    expected_status: int
    follow_redirects: bool
    keyword: str | None
    keyword_present: bool
    json_path: str | None
    expected_value: str | None
    dns_record_type: DnsRecordType | None
    dns_expected: str | None
    dns_resolver: str | None
    interval_seconds: int
    timeout_seconds: int
    failure_threshold: int
    recovery_threshold: int
    degraded_threshold_ms: int | None
    ssl_expiry_days: int
    tags: list[str]
    paused: bool
    heartbeat_url: str | None = Field(None, description="heartbeat: the ping URL (GET or POST)")
    heartbeat_grace_seconds: int
    last_ping_at: UtcDatetime | None
    status: MonitorStatus = Field(description="paused and maintenance win over the last check")
    last_checked_at: UtcDatetime | None
    last_response_ms: int | None
    last_error: str | None
    ssl_expires_at: UtcDatetime | None
    uptime_24h: float | None = Field(None, description="percent, from rollups; null: no data")
    uptime_7d: float | None = None
    uptime_30d: float | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


MonitorSort = Literal["name", "-name", "created_at", "-created_at", "status", "-status"]


class MonitorQuery(PageQuery):
    type: MonitorType | None = None
    status: MonitorStatus | None = None
    tag: str | None = Field(None, max_length=50)
    q: str | None = Field(None, max_length=200, description="matches name, URL or host")
    sort: MonitorSort = "name"


class MonitorSummary(ReadModel):
    """How many monitors show each status (every status present, zeros included)."""

    total: int
    by_status: dict[MonitorStatus, int]


MetricsRange = Literal["1h", "24h", "7d", "30d"]
RollupPeriod = Literal["minute", "hour", "day"]


class MetricsQuery(ApiModel):
    range: MetricsRange = "24h"


class MetricsPoint(ReadModel):
    bucket_start: UtcDatetime
    up: int
    down: int
    degraded: int
    maintenance: int
    unknown: int
    min_ms: int | None
    avg_ms: float | None
    max_ms: int | None
    p95_ms: int | None


class MonitorMetrics(ReadModel):
    range: MetricsRange
    period: RollupPeriod = Field(description="the rollup the points come from")
    uptime_pct: float | None = Field(description="excludes maintenance and unknown checks")
    checks: int
    up: int
    down: int
    degraded: int
    maintenance: int
    unknown: int
    avg_response_ms: float | None
    points: list[MetricsPoint]


class DailyQuery(ApiModel):
    days: int = Field(90, ge=1, le=400)


class DailyUptime(ReadModel):
    date: date
    uptime_pct: float | None = Field(description="null on a day without checks")
    checks: int
    failures: int
    downtime_seconds: int = Field(description="failures x check interval")
    avg_response_ms: float | None


class CheckQuery(PageQuery):
    status: CheckStatus | None = None


class CheckResultRead(ReadModel):
    id: int
    checked_at: UtcDatetime
    status: CheckStatus
    response_time_ms: int | None
    status_code: int | None
    error: str | None


class MaintenanceCreate(ApiModel):
    """One-off: starts_at + ends_at. Recurring: starts_at (first occurrence) + recurrence
    (an RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=SU`) + duration_minutes.

    A naive starts_at/ends_at is a wall-clock time in `timezone`. Recurrences follow the
    wall clock of `timezone` across DST: an occurrence at a time the clocks skip starts
    when they jump (02:30 on spring-forward day starts at 03:00), and one at a time that
    happens twice starts at its first occurrence.
    """

    starts_at: datetime
    ends_at: datetime | None = None
    recurrence: str | None = Field(None, min_length=1, max_length=500)
    duration_minutes: int | None = Field(None, ge=1, le=10_080)
    timezone: str = Field("UTC", min_length=1, max_length=64, description="IANA name")
    reason: ShortText | None = None


class MaintenanceRead(ReadModel):
    id: int
    starts_at: UtcDatetime
    ends_at: UtcDatetime | None
    recurrence: str | None
    duration_minutes: int | None
    timezone: str
    reason: str | None
    active: bool = Field(description="a window is in effect now")
    next_starts_at: UtcDatetime | None = Field(description="the next (or current) occurrence")
    next_ends_at: UtcDatetime | None
    created_at: UtcDatetime


class HeartbeatAck(ReadModel):
    ok: bool
    status: Literal["success", "fail"]
    received_at: UtcDatetime

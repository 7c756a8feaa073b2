"""Status pages: what an organization shows the public about its monitors.

An organization has one global page (`/status/{org_slug}`) and any number of client pages
(`/status/{org_slug}/{client_slug}`), each showing monitors of its own choosing. A page
that requires a token is read with `?token=`; the token is shown once, when it is made.
Announcements are public notes moved through the states of an incident write-up. People
subscribe to a page by email (double opt-in) and hear of its incidents and announcements.

`PublicStatusPage` is the one model of what a visitor sees: the public JSON is it, and the
HTML page, the feeds and the badges are rendered from it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.api.common import (
    ApiModel,
    Email,
    Lines,
    Name,
    OneLine,
    PageQuery,
    ReadModel,
    UpdateModel,
    UtcDatetime,
)

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
Slug = Annotated[str, Field(min_length=1, max_length=63, pattern=SLUG_PATTERN)]
# Paths beside client pages under /status/{org_slug}/ (server/routes.py PAGES).
RESERVED_SLUGS = frozenset({"badge", "subscribe", "global", "logo"})
Title = Annotated[Name, Field(max_length=200)]
Url = Annotated[OneLine, Field(max_length=2000, pattern=r"^https?://[^\s]+$")]
HistoryDays = Annotated[int, Field(ge=7, le=365)]
MonitorIds = Annotated[list[Annotated[int, Field(ge=1, le=2**53)]], Field(max_length=200)]
GLOBAL_PAGE = "global"


def slug_of(name: str) -> str:
    """A client page's default slug: its name lowercased, accents dropped, other runs of
    characters turned into one hyphen ("Acme Café (EU)" -> "acme-cafe-eu")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63].strip("-")
    return slug or "page"


class PageSettings(ApiModel):
    """What the global page and a client page both have (PUT /status-pages/global)."""

    enabled: bool = True
    title: Title = "System Status"
    company_name: Annotated[OneLine, Field(max_length=200)] | None = None
    logo_url: Url | None = Field(
        None,
        description="the company's site, where the page's heading links. The logo shown is "
        "the organization's uploaded one (PUT /organization/logo) on plans with the "
        "whitelabel module: a public page loads nothing from another site",
    )
    history_days: HistoryDays = 90
    show_response_times: bool = True
    show_uptime: bool = True
    monitor_ids: MonitorIds = Field(
        default_factory=list, description="the org's own monitors, in the order shown"
    )
    require_token: bool = False


class ClientPageCreate(PageSettings):
    name: Name
    slug: Slug | None = Field(None, description="from the name when left out")


class ClientPageUpdate(UpdateModel):
    not_null = frozenset(
        {
            "name", "slug", "enabled", "title", "history_days", "show_response_times",
            "show_uptime", "monitor_ids", "require_token",
        }
    )  # fmt: skip

    name: Name | None = None
    slug: Slug | None = None
    enabled: bool | None = None
    title: Title | None = None
    company_name: Annotated[OneLine, Field(max_length=200)] | None = None
    logo_url: Url | None = None
    history_days: HistoryDays | None = None
    show_response_times: bool | None = None
    show_uptime: bool | None = None
    monitor_ids: MonitorIds | None = None
    require_token: bool | None = None


class PageRead(ReadModel):
    id: int
    kind: str = Field(description="global | client")
    name: str
    slug: str | None = Field(description="a client page's; null for the global page")
    enabled: bool
    title: str
    company_name: str | None
    logo_url: str | None
    history_days: int
    show_response_times: bool
    show_uptime: bool
    monitor_ids: list[int]
    require_token: bool
    token_hint: str | None = Field(description="the token's last characters (`****ab12`)")
    url: str = Field(description="the public HTML page (add `?token=` when it requires one)")
    subscribers: int = Field(0, description="confirmed subscribers")
    created_at: UtcDatetime
    updated_at: UtcDatetime


class PageWithToken(PageRead):
    token: str | None = Field(
        None, description="the page's token, answered once: when it is made or regenerated"
    )


class HistoryGenerated(ReadModel):
    monitors: int
    days: int = Field(description="the days of history looked at for each monitor")
    rebuilt: int = Field(description="daily rows written from hourly rollups")


class AnnouncementState(StrEnum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


class AnnouncementCreate(ApiModel):
    title: Title
    body: Annotated[Lines, Field(min_length=1, max_length=5000)]
    state: AnnouncementState = AnnouncementState.investigating
    page: Annotated[OneLine, Field(min_length=1, max_length=63)] = Field(
        GLOBAL_PAGE, description='"global" or a client page\'s slug'
    )


class AnnouncementUpdate(UpdateModel):
    """A new state and/or a new note: each change is kept as an update, shown in order."""

    not_null = frozenset({"title", "body", "state"})

    title: Title | None = None
    body: Annotated[Lines, Field(min_length=1, max_length=5000)] | None = None
    state: AnnouncementState | None = None


class AnnouncementQuery(PageQuery):
    # Not `page`: that is the page of the list.
    status_page: Annotated[OneLine, Field(min_length=1, max_length=63)] | None = Field(
        None, description='"global" or a client page\'s slug; every page when left out'
    )
    state: AnnouncementState | None = None


class AnnouncementStep(ReadModel):
    state: AnnouncementState
    body: str
    created_at: UtcDatetime


class AnnouncementRead(ReadModel):
    id: int
    page: str = Field(description='"global" or the client page\'s slug')
    page_id: int
    title: str
    body: str
    state: AnnouncementState
    updates: list[AnnouncementStep] = Field(description="oldest first")
    created_at: UtcDatetime
    updated_at: UtcDatetime
    resolved_at: UtcDatetime | None


class SubscribeRequest(ApiModel):
    email: Email


class SubscribeAccepted(ReadModel):
    detail: str


class SubscriberQuery(PageQuery):
    status_page: Annotated[OneLine, Field(min_length=1, max_length=63)] | None = Field(
        None, description='"global" or a client page\'s slug; every page when left out'
    )
    pending: bool = Field(
        False, description="instead, the addresses that asked and have not confirmed yet"
    )


class SubscriberRead(ReadModel):
    id: int
    email: str
    page: str
    page_id: int
    confirmed_at: UtcDatetime | None
    created_at: UtcDatetime


# The public page: what a visitor reads (JSON), and the HTML, feeds and badges render.


class PublicStatus(StrEnum):
    """A monitor as the public sees it (its internal state, simplified)."""

    operational = "operational"
    degraded = "degraded"
    down = "down"
    maintenance = "maintenance"
    unknown = "unknown"  # paused, not checked yet, or the server's own network was down


class PublicDay(ReadModel):
    date: date
    uptime_pct: float | None = Field(description="null: no check counted that day")
    downtime_seconds: int
    checks: int
    incidents: int = 0


class PublicMonitor(ReadModel):
    id: int
    name: str
    status: PublicStatus
    uptime_pct: float | None = Field(description="over the page's history days")
    avg_response_ms: float | None = Field(description="last 24 hours; null when hidden")
    days: list[PublicDay] = Field(description="oldest first, today last; empty when hidden")


class PublicIncident(ReadModel):
    id: int
    title: str
    monitor_id: int | None
    monitor_name: str | None
    status: str
    severity: str
    opened_at: UtcDatetime
    resolved_at: UtcDatetime | None


class PublicMaintenance(ReadModel):
    """One planned window (a recurring one expanded into its occurrences)."""

    uid: str = Field(description="stable across reads: the window's id and its start")
    monitor_id: int
    monitor_name: str
    reason: str | None
    starts_at: UtcDatetime
    ends_at: UtcDatetime


class Branding(ReadModel):
    name: str
    logo_url: str | None
    primary_color: str | None
    accent_color: str | None
    whitelabel: bool = Field(description="the plan's whitelabel module: no 'Powered by'")


class PublicStatusPage(ReadModel):
    org_slug: str
    slug: str | None = Field(description="the client page's slug; null for the global page")
    title: str
    company_name: str | None
    branding: Branding
    status: PublicStatus = Field(description="the worst of the monitors'")
    history_days: int
    show_uptime: bool
    show_response_times: bool
    monitors: list[PublicMonitor]
    incidents: list[PublicIncident] = Field(description="within the history days, newest first")
    announcements: list[AnnouncementRead] = Field(description="newest first")
    maintenance: list[PublicMaintenance] = Field(description="the next 30 days, soonest first")
    generated_at: UtcDatetime


class PublicPageQuery(ApiModel):
    token: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="the page's token, when it requires one"
    )

"""The public status page as HTML: a pure function of the page model, its links and the time.

Server-rendered with Jinja2 and no JavaScript, so the page reads the same with scripts off,
in a text browser and in a screen reader. Nothing on it makes a request elsewhere: the
stylesheet is inlined, the fonts are the system's, the logo is served from this server.

Every status is a glyph and a word, never a colour alone (WCAG 1.4.1), and every day of the
uptime bar has its date, uptime and downtime as a tooltip and as text for screen readers.
The bars are most of a page (50 monitors x 90 days), so a day is one short `<li>` whose
tooltip and hidden text are the same string: gzip stores the second as a back-reference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from shared.api.status_pages import PublicDay, PublicMonitor, PublicStatus, PublicStatusPage

GLYPHS = {
    PublicStatus.operational: "✓",
    PublicStatus.degraded: "▲",
    PublicStatus.down: "✕",
    PublicStatus.maintenance: "◆",
    PublicStatus.unknown: "?",
}
CODES = {  # the CSS class suffix of each status
    PublicStatus.operational: "o",
    PublicStatus.degraded: "g",
    PublicStatus.down: "d",
    PublicStatus.maintenance: "m",
    PublicStatus.unknown: "u",
}
BANNERS = {
    PublicStatus.operational: "All systems operational",
    PublicStatus.degraded: "Some systems are degraded",
    PublicStatus.down: "Some systems are down",
    PublicStatus.maintenance: "Maintenance in progress",
    PublicStatus.unknown: "Status unknown",
}
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_COLOR = "#0b5cad"
# WCAG 2.x AA for normal text: the brand colour is used for links and the button's
# background (white text) only when it reaches this contrast on the page's background,
# the darker of the two (status.css).
MIN_CONTRAST = 4.5
PAGE_BACKGROUND = "#f6f8fa"
# Day bar classes (tests/server/test_status_render.py reads them): up, warning, down; no
# class is a day without data.
DAY_UP_PCT = 99.9
DAY_WARNING_PCT = 95.0
NARROW_DAYS = 30  # what status.css shows at narrow widths


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Where the page's links and form lead. Paths on this server get `?token=` when the
    page is read with a token; `company` is the brand's own site and never gets it."""

    page: str
    rss: str
    atom: str
    ics: str
    subscribe: str
    badge_prefix: str  # a monitor's status badge is f"{badge_prefix}{monitor_id}.svg"
    logo: str | None = None
    company: str | None = None
    token: str | None = None

    def own(self, path: str) -> str:
        return with_token(path, self.token)


@dataclass(frozen=True, slots=True)
class MessageForm:
    """A form of one button on a message page: confirm, unsubscribe. `fields` are hidden
    inputs (the emailed token)."""

    action: str
    button: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Colors:
    link: str
    accent: str


def with_token(path: str, token: str | None) -> str:
    if not token:
        return path
    return f"{path}{'&' if '?' in path else '?'}token={quote(token, safe='')}"


def render_page(page: PublicStatusPage, *, links: PageLinks, now: datetime) -> str:
    monitors = [_monitor_view(page, monitor, links) for monitor in page.monitors]
    incidents = sorted(page.incidents, key=lambda incident: incident.opened_at, reverse=True)
    return (
        _env()
        .get_template("page.html.j2")
        .render(
            page=page,
            links=links,
            own=links.own,
            now=now,
            monitors=monitors,
            incidents=incidents,
            banner=BANNERS[page.status],
            whitelabel=page.branding.whitelabel,
            colors=brand_colors(page.branding.primary_color),
            robots_noindex=links.token is not None,
            css=_css(),
        )
    )


def render_message(
    title: str,
    message: str,
    *,
    form: MessageForm | None,
    now: datetime,
    primary_color: str | None = None,
    whitelabel: bool = False,
) -> str:
    """A small page of a title, a message and at most one form: "Check your inbox", "This
    page needs its token", the confirm and unsubscribe pages that act only on POST."""
    return (
        _env()
        .get_template("message.html.j2")
        .render(
            title=title,
            message=message,
            form=form,
            now=now,
            whitelabel=whitelabel,
            colors=brand_colors(primary_color),
            robots_noindex=True,
            css=_css(),
        )
    )


def brand_colors(primary_color: str | None) -> Colors:
    """The brand colour as the accent when it is `#rrggbb`, and for links and the button
    too when white text on it is readable; otherwise the default."""
    if primary_color is None or not HEX_COLOR.fullmatch(primary_color):
        return Colors(DEFAULT_COLOR, DEFAULT_COLOR)
    color = primary_color.lower()
    readable = contrast(color, PAGE_BACKGROUND) >= MIN_CONTRAST
    return Colors(color if readable else DEFAULT_COLOR, color)


def contrast(first: str, second: str) -> float:
    """WCAG 2.x contrast ratio of two `#rrggbb` colours."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(color: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


# Text of figures -------------------------------------------------------------------------


def utc_text(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def percent_text(pct: float) -> str:
    """Two decimals at most; never "100%" for a day that had downtime."""
    text = f"{pct:.2f}".rstrip("0").rstrip(".")
    return "99.99%" if text == "100" and pct < 100 else f"{text}%"


def duration_text(span: timedelta | float) -> str:
    seconds = span.total_seconds() if isinstance(span, timedelta) else span
    minutes = max(0, math.ceil(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days {hours % 24} h"


def day_text(day: PublicDay) -> str:
    if day.uptime_pct is None:
        return f"{day.date.isoformat()}: No data"
    downtime = duration_text(day.downtime_seconds) if day.downtime_seconds else "no"
    text = f"{day.date.isoformat()}: {percent_text(day.uptime_pct)} uptime, {downtime} downtime"
    if day.incidents:
        text += f", {day.incidents} incident{'s' if day.incidents > 1 else ''}"
    return text


def day_class(day: PublicDay) -> str:
    if day.uptime_pct is None:
        return ""
    if day.uptime_pct >= DAY_UP_PCT:
        return "u"
    return "w" if day.uptime_pct >= DAY_WARNING_PCT else "d"


def word(value: str) -> str:
    return str(value).replace("_", " ").capitalize()


# Internals -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MonitorView:
    id: int
    name: str
    status: PublicStatus
    facts: list[str]
    badge: str
    days: Markup
    count: int


def _monitor_view(page: PublicStatusPage, monitor: PublicMonitor, links: PageLinks) -> _MonitorView:
    facts = []
    if page.show_uptime and monitor.uptime_pct is not None:
        facts.append(f"{percent_text(monitor.uptime_pct)} uptime")
    if page.show_response_times and monitor.avg_response_ms is not None:
        facts.append(f"{round(monitor.avg_response_ms)} ms average response")
    return _MonitorView(
        id=monitor.id,
        name=monitor.name,
        status=monitor.status,
        facts=facts,
        badge=links.own(f"{links.badge_prefix}{monitor.id}.svg"),
        days=_day_bar(monitor.days),
        count=len(monitor.days),
    )


def _day_bar(days: list[PublicDay]) -> Markup:
    """The `<li>`s of one bar, built here rather than in a template loop: 4,500 of them on
    a large page. The text is escaped although it is made of dates and numbers only."""
    cells = []
    for day in days:
        text = escape(day_text(day))
        css = day_class(day)
        attributes = f' class="{css}"' if css else ""
        cells.append(f'<li{attributes} title="{text}"><i>{text}</i></li>')
    return Markup("".join(cells))  # noqa: S704 - every value in it went through escape()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%MZ")


@cache
def _env() -> Environment:
    """Built on first use, not at import (house style: nothing built at import time)."""
    env = Environment(
        loader=PackageLoader("server.status_pages"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.filters.update(
        utc=utc_text,
        iso=_iso,
        duration=duration_text,
        word=word,
        glyph=GLYPHS.__getitem__,
        code=CODES.__getitem__,
    )
    return env


@cache
def _css() -> Markup:
    """status.css without comments and needless whitespace, for the page's <style>."""
    loader = _env().loader
    assert loader is not None
    source = loader.get_source(_env(), "status.css")[0]
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    source = re.sub(r"\s+", " ", source)
    source = re.sub(r"\s*([{};,>+])\s*", r"\1", source)
    source = re.sub(r":\s+", ":", source)
    return Markup(source.replace(";}", "}").strip())  # noqa: S704 - our own stylesheet

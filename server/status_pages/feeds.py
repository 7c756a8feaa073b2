"""A status page's feeds: RSS 2.0 and Atom (RFC 4287) of its incidents and announcements,
and an iCalendar (RFC 5545) of its planned maintenance.

The XML is built with ElementTree, so user text (a monitor named `<script>`) is always
escaped; characters XML 1.0 cannot hold at all (most C0 controls) are dropped first.

Entry ids stay the same for one item across reads and edits, or feed readers show an
item again each time it changes: an incident is `tag:{host},{opened day}:{org}/incident/{id}`
(RFC 4151 tag URIs: the day is one on which the host named the item, so it never changes).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit, urlunsplit

from icalendar import Calendar, Event

from shared.api.status_pages import AnnouncementRead, PublicIncident, PublicStatusPage

RSS_MEDIA_TYPE = "application/rss+xml; charset=utf-8"
ATOM_MEDIA_TYPE = "application/atom+xml"
ICS_MEDIA_TYPE = "text/calendar"

ATOM_NS = "http://www.w3.org/2005/Atom"
# Code points outside XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Item:
    """One incident or announcement, as both feeds write it."""

    id: str
    anchor: str
    title: str
    summary: str
    published_at: datetime
    updated_at: datetime


def items(page: PublicStatusPage, host: str) -> list[Item]:
    """The page's incidents and announcements, most recently changed first."""
    found = [_incident_item(page, incident, host) for incident in page.incidents]
    found += [_announcement_item(page, note, host) for note in page.announcements]
    return sorted(found, key=lambda item: (item.updated_at, item.id), reverse=True)


def rss(page: PublicStatusPage, *, page_url: str, self_url: str) -> bytes:
    ET.register_namespace("atom", ATOM_NS)
    root = ET.Element("rss", version="2.0")
    channel = ET.SubElement(root, "channel")
    _text(channel, "title", _feed_title(page))
    _text(channel, "link", page_url)
    _text(channel, "description", f"Incidents and announcements of {_feed_title(page)}")
    _text(channel, "language", "en")
    found = items(page, _host(page_url))
    _text(channel, "lastBuildDate", _rfc822(_feed_updated(page, found)))
    # RSS Advisory Board's best practice: a feed names its own URL.
    ET.SubElement(
        channel,
        f"{{{ATOM_NS}}}link",
        href=self_url,
        rel="self",
        type=RSS_MEDIA_TYPE.split(";")[0],
    )
    for item in found:
        element = ET.SubElement(channel, "item")
        _text(element, "title", item.title)
        _text(element, "link", f"{page_url}#{item.anchor}")
        _text(element, "description", item.summary)
        guid = _text(element, "guid", item.id)
        guid.set("isPermaLink", "false")
        _text(element, "pubDate", _rfc822(item.updated_at))
    return _xml(root)


def atom(page: PublicStatusPage, *, page_url: str, self_url: str) -> bytes:
    ET.register_namespace("", ATOM_NS)
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    found = items(page, _host(page_url))
    # The page's address without its query: the token may change, the feed stays the same.
    _atom(root, "id", _without_query(page_url))
    _atom(root, "title", _feed_title(page))
    _atom(root, "updated", _rfc3339(_feed_updated(page, found)))
    author = ET.SubElement(root, f"{{{ATOM_NS}}}author")
    _atom(author, "name", page.company_name or page.branding.name)
    ET.SubElement(root, f"{{{ATOM_NS}}}link", rel="self", href=self_url, type=ATOM_MEDIA_TYPE)
    ET.SubElement(root, f"{{{ATOM_NS}}}link", rel="alternate", href=page_url, type="text/html")
    for item in found:
        entry = ET.SubElement(root, f"{{{ATOM_NS}}}entry")
        _atom(entry, "id", item.id)
        _atom(entry, "title", item.title)
        _atom(entry, "published", _rfc3339(item.published_at))
        _atom(entry, "updated", _rfc3339(item.updated_at))
        ET.SubElement(
            entry, f"{{{ATOM_NS}}}link", rel="alternate", href=f"{page_url}#{item.anchor}"
        )
        _atom(entry, "summary", item.summary).set("type", "text")
    return _xml(root)


def ics(page: PublicStatusPage, *, prodid_host: str) -> bytes:
    """The planned maintenance windows, each one event (recurring windows come expanded)."""
    calendar = Calendar()
    calendar.add("prodid", f"-//{prodid_host}//Upmetr status page//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # Not in RFC 5545, but the calendar's display name in Apple, Google and Outlook.
    calendar.add("x-wr-calname", f"{_feed_title(page)}: planned maintenance")
    for window in page.maintenance:
        event = Event()
        # RFC 5545 3.8.4.7 recommends a domain on the right of the UID.
        event.add("uid", f"{window.uid}@{prodid_host}")
        event.add("dtstamp", _utc(page.generated_at))
        event.add("dtstart", _utc(window.starts_at))
        event.add("dtend", _utc(window.ends_at))
        summary = f"Maintenance: {window.monitor_name}"
        event.add("summary", f"{summary}: {window.reason}" if window.reason else summary)
        if window.reason:
            event.add("description", window.reason)
        event.add("transp", "TRANSPARENT")  # a window is not the subscriber's busy time
        calendar.add_component(event)
    return calendar.to_ical()


# Internals -------------------------------------------------------------------------------


def _incident_item(page: PublicStatusPage, incident: PublicIncident, host: str) -> Item:
    resolved = incident.resolved_at is not None
    summary = [f"Status: {incident.status}.", f"Severity: {incident.severity}."]
    if incident.monitor_name:
        summary.append(f"Monitor: {incident.monitor_name}.")
    summary.append(f"Opened {_shown(incident.opened_at)}.")
    if incident.resolved_at is not None:
        summary.append(f"Resolved {_shown(incident.resolved_at)}.")
    return Item(
        id=_tag(host, incident.opened_at, f"{page.org_slug}/incident/{incident.id}"),
        anchor=f"i{incident.id}",
        title=f"{'Resolved' if resolved else 'Incident'}: {incident.title}",
        summary=" ".join(summary),
        published_at=incident.opened_at,
        updated_at=incident.resolved_at or incident.opened_at,
    )


def _announcement_item(page: PublicStatusPage, note: AnnouncementRead, host: str) -> Item:
    steps = [
        f"{step.state.capitalize()} ({_shown(step.created_at)}): {step.body}"
        for step in reversed(note.updates)
    ] or [note.body]
    return Item(
        id=_tag(host, note.created_at, f"{page.org_slug}/announcement/{note.id}"),
        anchor=f"a{note.id}",
        title=f"{note.state.capitalize()}: {note.title}",
        summary="\n\n".join(steps),
        published_at=note.created_at,
        updated_at=note.updated_at,
    )


def _tag(host: str, named_at: datetime, specific: str) -> str:
    return f"tag:{host},{_utc(named_at).date().isoformat()}:{specific}"


def _feed_title(page: PublicStatusPage) -> str:
    return f"{page.title} ({page.company_name})" if page.company_name else page.title


def _feed_updated(page: PublicStatusPage, found: list[Item]) -> datetime:
    """The newest item's time, so the feed changes only when an item does."""
    return max((item.updated_at for item in found), default=page.generated_at)


def _host(url: str) -> str:
    return urlsplit(url).hostname or "localhost"


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _rfc822(moment: datetime) -> str:
    return format_datetime(_utc(moment), usegmt=True)


def _rfc3339(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = NOT_XML.sub("", text)
    return element


def _atom(parent: ET.Element, tag: str, text: str) -> ET.Element:
    return _text(parent, f"{{{ATOM_NS}}}{tag}", text)


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)

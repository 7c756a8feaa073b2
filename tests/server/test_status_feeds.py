"""The status page's RSS and Atom feeds and its iCalendar of planned maintenance."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from server.status_pages.feeds import (
    ATOM_MEDIA_TYPE,
    ICS_MEDIA_TYPE,
    RSS_MEDIA_TYPE,
    atom,
    ics,
    rss,
)
from tests.server.status_page_builders import (
    NOW,
    XSS,
    announcement,
    incident,
    maintenance,
    monitor,
    status_page,
)

PAGE_URL = "https://status.acme.example/status/acme"
A = "{http://www.w3.org/2005/Atom}"


def parse_xml(body: str | bytes) -> ET.Element:
    """What the code under test wrote: no untrusted XML is parsed here."""
    return ET.fromstring(body)  # noqa: S314


def rss_of(page: object = None) -> ET.Element:
    body = rss(page or status_page(), page_url=PAGE_URL, self_url=f"{PAGE_URL}.rss")  # type: ignore[arg-type]
    return parse_xml(body)


def atom_of(page: object = None) -> ET.Element:
    body = atom(page or status_page(), page_url=PAGE_URL, self_url=f"{PAGE_URL}.atom")  # type: ignore[arg-type]
    return parse_xml(body)


def test_the_media_types_are_the_registered_ones() -> None:
    assert RSS_MEDIA_TYPE == "application/rss+xml; charset=utf-8"
    assert ATOM_MEDIA_TYPE == "application/atom+xml"
    assert ICS_MEDIA_TYPE == "text/calendar"


def test_rss_lists_incidents_and_announcements_newest_first() -> None:
    channel = rss_of().find("channel")
    assert channel is not None
    titles = [item.findtext("title") for item in channel.iter("item")]
    assert titles == ["Resolved: API answers slowly", "Monitoring: Database upgrade"]
    assert channel.findtext("link") == PAGE_URL
    self_link = channel.find(f"{A}link")
    assert self_link is not None and self_link.get("rel") == "self"
    first = next(channel.iter("item"))
    assert first.findtext("link") == f"{PAGE_URL}#i7"
    assert first.findtext("pubDate") == "Sun, 06 Dec 2026 09:15:00 GMT"


def test_ids_stay_the_same_when_an_item_changes() -> None:
    open_incident = incident(resolved_at=None, status="open")
    before = status_page(incidents=[open_incident], generated_at=NOW - timedelta(hours=4))
    after = status_page(incidents=[incident()])
    ids = []
    for page in (before, after):
        guid = rss_of(page).find("channel/item/guid")
        entry_id = atom_of(page).find(f"{A}entry/{A}id")
        assert guid is not None and entry_id is not None
        assert guid.get("isPermaLink") == "false"
        assert guid.text == entry_id.text
        ids.append(guid.text)
    assert ids[0] == ids[1] == "tag:status.acme.example,2026-12-06:acme/incident/7"


def test_announcement_ids_differ_from_incident_ids_of_the_same_number() -> None:
    page = status_page(incidents=[incident(3)], announcements=[announcement(3)])
    ids = [entry.findtext(f"{A}id") for entry in atom_of(page).iter(f"{A}entry")]
    assert len(set(ids)) == 2


def test_atom_has_the_elements_rfc_4287_requires() -> None:
    feed = atom_of()
    for required in ("id", "title", "updated"):
        assert feed.findtext(f"{A}{required}")
    assert feed.findtext(f"{A}author/{A}name") == "Acme Inc."
    self_links = [link for link in feed.iter(f"{A}link") if link.get("rel") == "self"]
    assert [link.get("href") for link in self_links] == [f"{PAGE_URL}.atom"]
    assert feed.findtext(f"{A}updated") == "2026-12-06T09:15:00Z"
    for entry in feed.iter(f"{A}entry"):
        for required in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{A}{required}")


def test_the_atom_feed_id_leaves_the_token_out() -> None:
    body = atom(status_page(), page_url=f"{PAGE_URL}?token=s3cret", self_url=f"{PAGE_URL}.atom")
    assert parse_xml(body).findtext(f"{A}id") == PAGE_URL


def test_user_text_is_escaped_in_both_feeds() -> None:
    page = status_page(
        monitors=[monitor(name=XSS)],
        incidents=[incident(title=XSS, monitor_name=XSS)],
        announcements=[announcement(title=XSS, body=f"{XSS}\x07")],
    )
    for body in (
        rss(page, page_url=PAGE_URL, self_url=PAGE_URL),
        atom(page, page_url=PAGE_URL, self_url=PAGE_URL),
    ):
        assert XSS.encode() not in body
        root = parse_xml(body)
        assert any(XSS in (element.text or "") for element in root.iter())


def test_a_page_without_items_is_a_valid_empty_feed() -> None:
    page = status_page(incidents=[], announcements=[])
    assert rss_of(page).find("channel/item") is None
    assert atom_of(page).findtext(f"{A}updated") == "2026-12-06T14:03:00Z"


def test_the_calendar_has_one_event_per_window_in_utc() -> None:
    second = maintenance("5-20261217T0200Z", monitor_name=XSS)
    second = second.model_copy(
        update={
            "starts_at": datetime(2026, 12, 17, 2, 0, tzinfo=UTC),
            "ends_at": datetime(2026, 12, 17, 3, 0, tzinfo=UTC),
            "reason": None,
        }
    )
    calendar = Calendar.from_ical(
        ics(status_page(maintenance=[maintenance(), second]), prodid_host="status.acme.example")
    )
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    first = events[0]
    assert str(first["uid"]) == "5-20261210T0200Z@status.acme.example"
    assert first.decoded("dtstart") == datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    assert first.decoded("dtend") == datetime(2026, 12, 10, 3, 30, tzinfo=UTC)
    assert first.decoded("dtstamp") == NOW
    assert str(first["summary"]) == "Maintenance: API: Kernel update"
    assert str(events[1]["summary"]) == f"Maintenance: {XSS}"
    assert b"DTSTART:20261210T020000Z" in calendar.to_ical()


def test_an_empty_calendar_is_still_a_calendar() -> None:
    calendar = Calendar.from_ical(ics(status_page(maintenance=[]), prodid_host="localhost"))
    assert calendar.walk("VEVENT") == []
    assert str(calendar["version"]) == "2.0"

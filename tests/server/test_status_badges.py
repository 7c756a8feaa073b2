"""Status, uptime and response time badges: well-formed SVG, text, colours, widths."""

from __future__ import annotations

import string
import xml.etree.ElementTree as ET

import pytest

from server.status_pages.badges import (
    BLUE,
    BRIGHT_GREEN,
    GREEN,
    GREY,
    RED,
    WIDTHS,
    YELLOW,
    response_badge,
    status_badge,
    text_width,
    uptime_badge,
)
from shared.api.status_pages import PublicStatus
from tests.server.status_page_builders import XSS

SVG = "{http://www.w3.org/2000/svg}"


def parse_xml(body: str | bytes) -> ET.Element:
    """What the code under test wrote: no untrusted XML is parsed here."""
    return ET.fromstring(body)  # noqa: S314


def parts(svg: str) -> tuple[str, list[str], str, ET.Element]:
    """The badge's title, its visible texts (shadows left out), message colour, and root."""
    root = parse_xml(svg)
    title = root.findtext(f"{SVG}title") or ""
    texts = [text.text or "" for text in root.iter(f"{SVG}text") if not text.get("aria-hidden")]
    color = root.findall(f"{SVG}g/{SVG}rect")[1].get("fill") or ""
    return title, texts, color, root


def test_a_status_badge_names_the_monitor_and_its_status() -> None:
    title, texts, color, root = parts(status_badge("API", PublicStatus.operational))
    assert texts == ["API", "operational"]
    assert color == BRIGHT_GREEN
    assert root.get("role") == "img"
    assert root.get("aria-label") == title == "API: operational"


def test_a_down_monitor_is_red_and_an_unknown_one_grey() -> None:
    assert parts(status_badge("API", PublicStatus.down))[2] == RED
    assert parts(status_badge("API", PublicStatus.unknown))[2] == GREY


@pytest.mark.parametrize(
    ("pct", "shown", "color"),
    [
        (100.0, "100%", BRIGHT_GREEN),
        (99.95, "99.95%", BRIGHT_GREEN),
        (99.9, "99.9%", BRIGHT_GREEN),
        (99.5, "99.5%", GREEN),
        (97.0, "97%", YELLOW),
        (80.123, "80.12%", RED),
        (99.999, "99.99%", BRIGHT_GREEN),
    ],
)
def test_uptime_colours_follow_the_thresholds(pct: float, shown: str, color: str) -> None:
    title, texts, found, _ = parts(uptime_badge("uptime", pct, 30))
    assert texts == ["uptime (30d)", shown]
    assert found == color
    assert title == f"uptime (30d): {shown} uptime"


def test_without_data_badges_say_so_in_grey() -> None:
    assert parts(uptime_badge("uptime", None, 30))[1:3] == (["uptime (30d)", "no data"], GREY)
    assert parts(response_badge("response", None))[1:3] == (["response", "no data"], GREY)


def test_a_response_badge_shows_whole_milliseconds() -> None:
    assert parts(response_badge("response", 123.6))[1:3] == (["response", "124 ms"], BLUE)


def test_badge_text_is_escaped() -> None:
    svg = status_badge(XSS, PublicStatus.down)
    assert XSS not in svg
    title, texts, _, root = parts(svg)
    assert texts[0] == XSS
    assert title == root.get("aria-label") == f"{XSS}: down"


def test_the_width_table_covers_printable_ascii_and_measures_like_shields() -> None:
    assert set(string.printable[:95]) <= set(WIDTHS)
    # shields.io's "build | passing" badge: texts 27 and 41 px wide.
    assert abs(text_width("build") / 10 - 27) < 1.5
    assert abs(text_width("passing") / 10 - 41) < 1.5


def test_the_badge_grows_with_its_text() -> None:
    short = parse_xml(status_badge("A", PublicStatus.operational))
    long = parse_xml(status_badge("A much longer monitor name", PublicStatus.operational))
    assert int(long.get("width") or 0) > int(short.get("width") or 0) + 100

"""The public status page's HTML: escaping, text alternatives, tokens, branding, size."""

from __future__ import annotations

import gzip
import itertools
import re
from html.parser import HTMLParser
from importlib import resources

from server.status_pages.render import (
    MessageForm,
    PageLinks,
    brand_colors,
    contrast,
    render_message,
    render_page,
)
from shared.api.status_pages import PublicStatus
from tests.server.status_page_builders import (
    NOW,
    XSS,
    branding,
    large_page,
    monitor,
    status_page,
)

TOKEN = "t0k/en+1"


def links(token: str | None = None) -> PageLinks:
    return PageLinks(
        page="/status/acme",
        rss="/status/acme.rss",
        atom="/status/acme.atom",
        ics="/status/acme.ics",
        subscribe="/api/v1/public/status/acme/subscribe",
        badge_prefix="/status/acme/badge/",
        logo="/status/acme/logo",
        company="https://acme.example/",
        token=token,
    )


class Parsed(HTMLParser):
    """The tags with their attributes, and the text, of a rendered page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def page_html(**extra: object) -> str:
    token = extra.pop("token", None)
    return render_page(status_page(**extra), links=links(token), now=NOW)  # type: ignore[arg-type]


def test_a_monitor_named_like_a_script_comes_out_as_text() -> None:
    html = page_html(monitors=[monitor(name=XSS)])
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not Parsed(html).all("script")


def test_the_page_has_landmarks_one_h1_and_no_javascript_or_outside_request() -> None:
    parsed = Parsed(page_html())
    names = [name for name, _ in parsed.tags]
    assert parsed.tags[0] == ("html", {"lang": "en"})
    assert names.count("h1") == 1
    assert {"header", "main", "footer"} <= set(names)
    assert "script" not in names
    sources = [attrs.get("src") for attrs in parsed.all("img")] + [
        attrs.get("href") for attrs in parsed.all("link")
    ]
    assert all(source and source.startswith("/") for source in sources)


def test_headings_never_skip_a_level() -> None:
    levels = [int(name[1]) for name, _ in Parsed(page_html()).tags if re.fullmatch("h[1-6]", name)]
    assert all(after - before <= 1 for before, after in itertools.pairwise(levels))


def test_every_day_has_a_tooltip_and_the_same_text_for_screen_readers() -> None:
    html = page_html()
    days = re.findall(r'<li(?: class="(\w)")? title="([^"]+)"><i>([^<]+)</i></li>', html)
    assert len(days) == 90
    assert all(title == text for _, title, text in days)
    assert "2026-12-06: 100% uptime, no downtime" in html
    assert any(text.endswith("No data") and css == "" for css, text, _ in days)
    assert re.search(r"\d{4}-\d\d-\d\d: 9\d\.\d+% uptime, \d+ min downtime", html)


def test_each_status_is_a_glyph_and_a_word() -> None:
    expected = {
        PublicStatus.operational: "✓</span> Operational",
        PublicStatus.degraded: "▲</span> Degraded",
        PublicStatus.down: "✕</span> Down",
        PublicStatus.maintenance: "◆</span> Maintenance",
        PublicStatus.unknown: "?</span> Unknown",
    }
    html = page_html(
        monitors=[monitor(index, status=status) for index, status in enumerate(expected)]
    )
    for shown in expected.values():
        assert shown in html


def test_uptime_and_response_times_show_only_when_the_page_shows_them() -> None:
    shown = page_html()
    assert "99.95% uptime · 123 ms average response · " in shown
    hidden = page_html(show_uptime=False, show_response_times=False)
    assert "99.95% uptime" not in hidden
    assert "ms average response" not in hidden


def test_the_banner_names_the_overall_status() -> None:
    assert "Some systems are down" in page_html(status=PublicStatus.down)


def test_a_token_is_added_to_every_link_the_page_makes() -> None:
    parsed = Parsed(page_html(token=TOKEN, branding=branding(whitelabel=True)))
    assert parsed.all("img")[0]["src"] == "/status/acme/logo?token=t0k%2Fen%2B1"
    assert ("a", {"href": "https://acme.example/"}) in parsed.tags
    own = [attrs["href"] for attrs in parsed.all("a") + parsed.all("link")]
    own = [href for href in own if href and href.startswith("/")]
    assert len(own) >= 8  # feeds twice, the badge, reload
    assert all(href.endswith("token=t0k%2Fen%2B1") for href in own)
    hidden = [attrs for attrs in parsed.all("input") if attrs.get("type") == "hidden"]
    assert hidden == [{"type": "hidden", "name": "token", "value": TOKEN}]
    assert parsed.all("form")[0]["action"] == "/api/v1/public/status/acme/subscribe"
    assert ("meta", {"name": "robots", "content": "noindex"}) in parsed.tags


def test_without_a_token_no_link_mentions_one() -> None:
    html = page_html()
    assert "token" not in html


def test_the_subscribe_form_posts_a_labelled_email() -> None:
    parsed = Parsed(page_html())
    assert parsed.all("form")[0]["method"] == "post"
    email = next(attrs for attrs in parsed.all("input") if attrs.get("type") == "email")
    assert ("label", {"for": email["id"]}) in parsed.tags


def test_feeds_are_announced_in_the_head() -> None:
    alternates = {attrs["type"] for attrs in Parsed(page_html()).all("link")}
    assert alternates == {"application/rss+xml", "application/atom+xml", "text/calendar"}


def test_powered_by_shows_unless_whitelabel_which_shows_the_brand() -> None:
    plain = page_html()
    assert "Powered by Upmetr" in plain
    assert "/status/acme/logo" not in plain
    branded = page_html(branding=branding(whitelabel=True, name="Acme Cloud"))
    assert "Powered by Upmetr" not in branded
    assert '<a href="https://acme.example/">' in branded
    assert "Acme Cloud" in branded
    assert '<img src="/status/acme/logo"' in branded


def test_a_valid_brand_colour_is_used_and_an_invalid_one_ignored() -> None:
    assert "--a:#6f42c1" in page_html(branding=branding(primary_color="#6F42C1"))
    injected = page_html(branding=branding(primary_color="red;}body{display:none"))
    assert "body{display" not in injected
    assert "--l:#0b5cad;--a:#0b5cad" in injected


def test_a_brand_colour_too_light_for_text_stays_an_accent_only() -> None:
    colors = brand_colors("#ffff00")
    assert (colors.link, colors.accent) == ("#0b5cad", "#ffff00")
    assert brand_colors("#6f42c1").link == "#6f42c1"


def test_every_text_colour_of_the_stylesheet_has_enough_contrast() -> None:
    css = resources.files("server.status_pages").joinpath("templates/status.css").read_text()
    text_colors = set(re.findall(r"[;{ ]color: (#[0-9a-f]{6})", css))
    assert text_colors
    for color in text_colors:
        assert contrast(color, "#f6f8fa") >= 4.5, color
    for banner in re.findall(r"\.bn\.\w+ \{ background: (#[0-9a-f]{6})", css):
        assert contrast(banner, "#ffffff") >= 4.5, banner


def test_incidents_come_newest_first_with_their_times() -> None:
    from tests.server.status_page_builders import incident

    older = incident(1, "Older", opened_at=NOW.replace(hour=1), resolved_at=None)
    html = page_html(incidents=[older, incident(2, "Newer")])
    assert html.index("Newer") < html.index("Older")
    assert "2026-12-06 09:03 UTC" in html
    assert "ongoing for 13 h</p>" in html


def test_announcements_show_their_updates_and_maintenance_its_window() -> None:
    html = page_html()
    assert html.index("Back to normal, watching.") < html.index("We upgrade.")
    assert "2026-12-10 02:00 UTC</time> to <time" in html
    assert "Kernel update" in html


def test_fifty_monitors_of_ninety_days_stay_under_fifty_kilobytes_gzipped() -> None:
    html = render_page(large_page(50, 90), links=links(TOKEN), now=NOW)
    assert html.count("<li") > 50 * 90
    assert len(gzip.compress(html.encode())) < 50_000


def test_narrow_screens_hide_older_days_visually_only() -> None:
    css = resources.files("server.status_pages").joinpath("templates/status.css").read_text()
    narrow = css[css.index("@media") :]
    assert "nth-last-child(n+31)" in narrow
    assert "display: none" not in narrow.split("}")[0]


def test_a_message_page_acts_only_through_one_posted_button() -> None:
    html = render_message(
        "Unsubscribe",
        f"Stop mail to {XSS}?",
        form=MessageForm("/status/acme/unsubscribe", "Unsubscribe", {"token": "abc"}),
        now=NOW,
    )
    parsed = Parsed(html)
    assert XSS not in html
    assert [attrs["method"] for attrs in parsed.all("form")] == ["post"]
    assert len(parsed.all("button")) == 1
    assert not parsed.all("a")
    assert {"type": "hidden", "name": "token", "value": "abc"} in parsed.all("input")


def test_a_message_page_without_a_form_is_just_its_text() -> None:
    html = render_message("This page needs its token", "Ask for the link.", form=None, now=NOW)
    parsed = Parsed(html)
    assert not parsed.all("form")
    assert [name for name, _ in parsed.tags].count("h1") == 1
    assert "Ask for the link." in html

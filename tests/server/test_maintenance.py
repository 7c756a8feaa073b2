"""Maintenance windows: one-off and recurring (RRULE), correct across DST changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest
from aiohttp.test_utils import TestClient

from server.monitors.maintenance import (
    InvalidWindow,
    Occurrence,
    Window,
    active_window,
    next_occurrence,
    occurrences_from,
    parse_rule,
)
from shared.api.common import API_PREFIX
from tests.conftest import World


@dataclass
class W:
    starts_at: datetime
    ends_at: datetime | None = None
    recurrence: str | None = None
    duration_minutes: int | None = None
    timezone: str = "UTC"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def upcoming(window: Window, now: datetime, count: int) -> list[Occurrence]:
    """The window's next `count` occurrences not ended by `now`."""
    return list(islice(occurrences_from(window, now), count))


def next_start(window: Window, now: datetime) -> datetime:
    occurrence = next_occurrence(window, now)
    assert occurrence is not None
    return occurrence.starts_at


# A daily 02:30 window in Berlin, 60 minutes; DTSTART 2026-01-01 02:30 CET = 01:30Z.
BERLIN_DAILY = W(
    utc(2026, 1, 1, 1, 30), recurrence="FREQ=DAILY", duration_minutes=60, timezone="Europe/Berlin"
)


def test_a_one_off_window_is_active_only_between_its_start_and_end() -> None:
    window = W(utc(2026, 5, 1, 10), utc(2026, 5, 1, 11))
    assert active_window([window], utc(2026, 5, 1, 9, 59)) is None
    assert active_window([window], utc(2026, 5, 1, 10)) is window
    assert active_window([window], utc(2026, 5, 1, 10, 59)) is window
    assert active_window([window], utc(2026, 5, 1, 11)) is None


def test_a_daily_window_keeps_its_local_time_in_winter_and_summer() -> None:
    assert next_start(BERLIN_DAILY, utc(2026, 1, 10)) == utc(2026, 1, 10, 1, 30)  # 02:30 CET
    assert next_start(BERLIN_DAILY, utc(2026, 7, 10)) == utc(2026, 7, 10, 0, 30)  # 02:30 CEST


def test_on_spring_forward_day_a_skipped_time_starts_when_the_clock_jumps() -> None:
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST (01:00Z); 02:30 does not exist.
    occurrence = next_occurrence(BERLIN_DAILY, utc(2026, 3, 29))
    assert occurrence is not None
    assert occurrence.starts_at == utc(2026, 3, 29, 1, 0)  # 03:00 CEST
    assert occurrence.ends_at == utc(2026, 3, 29, 2, 0)  # 60 elapsed minutes: 04:00 CEST
    assert active_window([BERLIN_DAILY], utc(2026, 3, 29, 0, 59)) is None
    assert active_window([BERLIN_DAILY], utc(2026, 3, 29, 1, 30)) is BERLIN_DAILY
    # The day after is back to 02:30 local, now CEST.
    assert next_start(BERLIN_DAILY, utc(2026, 3, 30)) == utc(2026, 3, 30, 0, 30)


def test_on_fall_back_day_a_repeated_time_starts_at_its_first_occurrence_only() -> None:
    # 2026-10-25 in Berlin: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice,
    # at 00:30Z (CEST) and at 01:30Z (CET). The window starts at the first, once.
    occurrences = upcoming(BERLIN_DAILY, utc(2026, 10, 25), 2)
    assert [o.starts_at for o in occurrences] == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
    ]
    assert active_window([BERLIN_DAILY], utc(2026, 10, 25, 1, 0)) is BERLIN_DAILY
    assert active_window([BERLIN_DAILY], utc(2026, 10, 25, 1, 45)) is None  # second 02:30


def test_new_york_windows_follow_both_transitions() -> None:
    daily = W(
        utc(2026, 1, 5, 7, 30),
        recurrence="FREQ=DAILY",
        duration_minutes=30,
        timezone="America/New_York",
    )  # 02:30 EST
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
    assert next_start(daily, utc(2026, 3, 8)) == utc(2026, 3, 8, 7, 0)
    assert next_start(daily, utc(2026, 3, 9)) == utc(2026, 3, 9, 6, 30)
    # 2026-11-01: 01:30 happens twice (05:30Z EDT, 06:30Z EST); first one wins.
    early = W(
        utc(2026, 1, 5, 6, 30),
        recurrence="FREQ=DAILY",
        duration_minutes=30,
        timezone="America/New_York",
    )  # 01:30 EST
    assert next_start(early, utc(2026, 11, 1)) == utc(2026, 11, 1, 5, 30)
    assert active_window([early], utc(2026, 11, 1, 6, 40)) is None


def test_a_weekly_window_comes_back_on_its_day_and_a_one_off_once() -> None:
    sunday = W(utc(2026, 1, 4, 22), recurrence="RRULE:FREQ=WEEKLY;BYDAY=SU", duration_minutes=120)
    one_off = W(utc(2026, 1, 6, 12), utc(2026, 1, 6, 13))
    assert [o.starts_at for o in upcoming(sunday, utc(2026, 1, 5), 2)] == [
        utc(2026, 1, 11, 22),
        utc(2026, 1, 18, 22),
    ]
    assert [o.starts_at for o in upcoming(one_off, utc(2026, 1, 5), 2)] == [utc(2026, 1, 6, 12)]
    assert next_occurrence(one_off, utc(2026, 1, 6, 13)) is None


def test_a_running_occurrence_counts_as_upcoming() -> None:
    window = W(utc(2026, 1, 1, 23), recurrence="FREQ=DAILY", duration_minutes=120)
    assert next_start(window, utc(2026, 2, 1, 0, 30)) == utc(2026, 1, 31, 23)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SOMETIMES",
        "FREQ=MINUTELY",
        "DTSTART:20260101T000000\nRRULE:FREQ=DAILY",
        "BYDAY=XX",
        "FREQ=DAILY;COUNT=0",
    ],
)
def test_bad_rules_are_refused_naming_recurrence(rule: str) -> None:
    with pytest.raises(InvalidWindow) as caught:
        parse_rule(rule, datetime(2026, 1, 1, 2, 30))
    assert caught.value.field == "recurrence"


# Over the API


async def make_monitor(client: TestClient, world: World) -> int:
    response = await client.post(
        f"{API_PREFIX}/monitors",
        json={"name": "Site", "type": "http", "url": "https://example.com/"},
        headers=world.alice.headers,
    )
    assert response.status == 201, await response.text()
    monitor_id: int = (await response.json())["id"]
    return monitor_id


async def test_a_window_running_now_puts_the_monitor_in_maintenance(
    client: TestClient, world: World
) -> None:
    monitor_id = await make_monitor(client, world)
    now = datetime.now(UTC)
    response = await client.post(
        f"{API_PREFIX}/monitors/{monitor_id}/maintenance",
        json={
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "reason": "upgrade",
        },
        headers=world.alice.headers,
    )
    assert response.status == 201, await response.text()
    window = await response.json()
    assert window["active"] is True
    monitor = await (
        await client.get(f"{API_PREFIX}/monitors/{monitor_id}", headers=world.bob.headers)
    ).json()
    assert monitor["status"] == "maintenance"
    listed = await (
        await client.get(
            f"{API_PREFIX}/monitors/{monitor_id}/maintenance", headers=world.bob.headers
        )
    ).json()
    assert [w["id"] for w in listed] == [window["id"]]
    deleted = await client.delete(
        f"{API_PREFIX}/monitors/{monitor_id}/maintenance/{window['id']}",
        headers=world.alice.headers,
    )
    assert deleted.status == 204
    monitor = await (
        await client.get(f"{API_PREFIX}/monitors/{monitor_id}", headers=world.bob.headers)
    ).json()
    assert monitor["status"] == "pending"


async def test_the_status_filter_matches_the_status_shown_maintenance_included(
    client: TestClient, world: World
) -> None:
    in_window = await make_monitor(client, world)
    outside = await make_monitor(client, world)
    now = datetime.now(UTC)
    response = await client.post(
        f"{API_PREFIX}/monitors/{in_window}/maintenance",
        json={
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
        headers=world.alice.headers,
    )
    assert response.status == 201, await response.text()

    async def listed(status: str) -> list[int]:
        page = await (
            await client.get(f"{API_PREFIX}/monitors?status={status}", headers=world.bob.headers)
        ).json()
        return [item["id"] for item in page["items"]]

    assert await listed("maintenance") == [in_window]
    assert await listed("pending") == [outside]  # the one in its window is not "pending"
    carol_sees = await client.get(
        f"{API_PREFIX}/monitors?status=maintenance", headers=world.carol.headers
    )
    assert (await carol_sees.json())["total"] == 0


async def test_the_summary_counts_each_monitor_under_the_status_it_shows(
    client: TestClient, world: World
) -> None:
    in_window = await make_monitor(client, world)
    await make_monitor(client, world)
    paused = await make_monitor(client, world)
    now = datetime.now(UTC)
    for monitor_id in (in_window, paused):  # paused wins over maintenance
        response = await client.post(
            f"{API_PREFIX}/monitors/{monitor_id}/maintenance",
            json={
                "starts_at": (now - timedelta(minutes=5)).isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
            },
            headers=world.alice.headers,
        )
        assert response.status == 201, await response.text()
    response = await client.post(
        f"{API_PREFIX}/monitors/{paused}/pause", headers=world.alice.headers
    )
    assert response.status == 200, await response.text()

    summary = await (
        await client.get(f"{API_PREFIX}/monitors/summary", headers=world.bob.headers)
    ).json()
    assert summary["total"] == 3
    assert summary["by_status"]["maintenance"] == 1
    assert summary["by_status"]["paused"] == 1
    assert summary["by_status"]["pending"] == 1
    assert summary["by_status"]["down"] == 0
    for status, count in summary["by_status"].items():  # the same as the filter finds
        listed = await (
            await client.get(
                f"{API_PREFIX}/monitors?status={status}&per_page=1", headers=world.bob.headers
            )
        ).json()
        assert listed["total"] == count, status
    carol_sees = await client.get(f"{API_PREFIX}/monitors/summary", headers=world.carol.headers)
    assert (await carol_sees.json())["total"] == 0


async def test_a_recurring_window_reads_a_naive_start_in_its_timezone(
    client: TestClient, world: World
) -> None:
    monitor_id = await make_monitor(client, world)
    response = await client.post(
        f"{API_PREFIX}/monitors/{monitor_id}/maintenance",
        json={
            "starts_at": "2026-01-01T02:30:00",
            "recurrence": "FREQ=DAILY",
            "duration_minutes": 60,
            "timezone": "Europe/Berlin",
        },
        headers=world.alice.headers,
    )
    assert response.status == 201, await response.text()
    window = await response.json()
    assert window["starts_at"] == "2026-01-01T01:30:00Z"
    assert window["next_starts_at"] is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "starts_at": "2026-01-01T02:30:00",
                "recurrence": "FREQ=DAILY",
                "duration_minutes": 60,
                "timezone": "Mars/Olympus",
            },
            "timezone",
        ),
        (
            {
                "starts_at": "2026-01-01T02:30:00",
                "recurrence": "FREQ=OFTEN",
                "duration_minutes": 60,
            },
            "recurrence",
        ),
        ({"starts_at": "2026-01-01T02:30:00", "recurrence": "FREQ=DAILY"}, "duration_minutes"),
        ({"starts_at": "2026-01-01T02:30:00Z"}, "ends_at"),
        ({"starts_at": "2026-01-01T02:30:00Z", "ends_at": "2026-01-01T01:00:00Z"}, "ends_at"),
    ],
    ids=["timezone", "rrule", "no-duration", "no-end", "end-before-start"],
)
async def test_bad_windows_are_400_naming_the_field(
    client: TestClient, world: World, body: dict[str, object], field: str
) -> None:
    monitor_id = await make_monitor(client, world)
    response = await client.post(
        f"{API_PREFIX}/monitors/{monitor_id}/maintenance", json=body, headers=world.alice.headers
    )
    assert response.status == 400
    assert f"'{field}'" in (await response.json())["detail"]

"""Heartbeat evaluation (pure: no clock, no network) and CheckSpec validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.providers.checks import CheckSpec, evaluate_heartbeat, heartbeat_deadline
from server.providers.checks.base import parse_expected_status, parse_json_path

NOW = datetime(2025, 3, 30, 12, 0, tzinfo=UTC)
HOUR, GRACE = 3600.0, 300.0


def evaluate(last_ping_at: datetime | None, **fields: object) -> tuple[str, str | None]:
    outcome = evaluate_heartbeat(
        last_ping_at=last_ping_at,
        period_seconds=fields.pop("period_seconds", HOUR),  # type: ignore[arg-type]
        grace_seconds=fields.pop("grace_seconds", GRACE),  # type: ignore[arg-type]
        now=fields.pop("now", NOW),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
    assert outcome.checked_at == NOW and outcome.attempts == 1
    return outcome.status, outcome.error


def test_recent_ping_is_up() -> None:
    assert evaluate(NOW - timedelta(minutes=10)) == ("up", None)


def test_late_ping_inside_the_grace_time_is_still_up() -> None:
    assert evaluate(NOW - timedelta(minutes=64))[0] == "up"


def test_ping_exactly_at_the_deadline_is_on_time() -> None:
    assert evaluate(NOW - timedelta(seconds=HOUR + GRACE))[0] == "up"


def test_one_second_past_the_deadline_is_down_with_the_silence_in_words() -> None:
    status, error = evaluate(NOW - timedelta(seconds=HOUR + GRACE + 1))
    assert status == "down"
    assert error == "no ping for 1 h 5 min 1 s (expected every 1 h, grace 5 min)"


def test_failure_report_is_down_even_when_recent() -> None:
    assert evaluate(NOW - timedelta(seconds=5), failed_ping=True) == (
        "down",
        "the job reported a failure",
    )


def test_never_pinged_monitor_gets_one_period_from_creation() -> None:
    assert evaluate(None, created_at=NOW - timedelta(minutes=30))[0] == "up"
    status, error = evaluate(None, created_at=NOW - timedelta(hours=2))
    assert status == "down"
    assert error == "no ping received yet (expected every 1 h, grace 5 min)"
    assert evaluate(None) == ("down", "no ping received yet")


def test_ping_from_the_future_clock_skew_is_up() -> None:
    assert evaluate(NOW + timedelta(minutes=2))[0] == "up"


def test_zero_grace_and_day_long_periods() -> None:
    assert evaluate(NOW - timedelta(seconds=61), period_seconds=60, grace_seconds=0)[0] == "down"
    assert evaluate(NOW - timedelta(days=2), period_seconds=86400, grace_seconds=3600) == (
        "down",
        "no ping for 2 d (expected every 1 d, grace 1 h)",
    )


def test_naive_times_and_bad_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(datetime(2025, 3, 30, 11, 0))
    with pytest.raises(ValueError, match="period_seconds"):
        evaluate(NOW, period_seconds=0)


def test_deadline_is_last_ping_plus_period_plus_grace() -> None:
    deadline = heartbeat_deadline(
        last_ping_at=NOW, period_seconds=HOUR, grace_seconds=GRACE, created_at=NOW
    )
    assert deadline == NOW + timedelta(hours=1, minutes=5)
    assert heartbeat_deadline(last_ping_at=None, period_seconds=HOUR, grace_seconds=0) is None


def test_expected_status_forms() -> None:
    assert parse_expected_status(200) == ((200, 200),)
    assert parse_expected_status("2xx, 301") == ((200, 299), (301, 301))
    assert parse_expected_status("200-204") == ((200, 204),)
    assert parse_expected_status([200, 404]) == ((200, 200), (404, 404))
    for bad in ("abc", "700", "299-200", "6xx", True):
        with pytest.raises(ValueError):
            parse_expected_status(bad)


def test_json_path_subset() -> None:
    assert parse_json_path("$.a.b[0].c") == ("a", "b", 0, "c")
    assert parse_json_path("$['odd key'][2]") == ("odd key", 2)
    assert parse_json_path("$") == ()
    for bad in ("a.b", "$.a[*]", "$..a", "$.a[-1]"):
        with pytest.raises(ValueError):
            parse_json_path(bad)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "http", "url": "ftp://example.com"},
        {"type": "keyword", "url": "https://example.com"},
        {"type": "json", "url": "https://example.com", "json_path": "$.ok"},
        {"type": "tcp", "host": "example.com"},
        {"type": "tcp", "host": "example.com", "port": 70000},
        {"type": "dns"},
        {"type": "dns", "host": "example.com", "record_type": "SRV"},
        {"type": "http", "url": "https://example.com", "attempts": 0},
        {"type": "http", "url": "https://example.com", "timeout_seconds": 0},
    ],
)
def test_nonsense_specs_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CheckSpec(**fields)  # type: ignore[arg-type]


def test_spec_defaults_follow_the_contract() -> None:
    spec = CheckSpec(type="http", url="https://example.com")
    assert (spec.attempts, spec.retry_delay_seconds, spec.timeout_seconds) == (3, 1.0, 30.0)
    assert spec.verify_tls and spec.follow_redirects and spec.accepts_status(200)
    assert not spec.accepts_status(201)

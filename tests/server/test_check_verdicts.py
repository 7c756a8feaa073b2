"""The verdict on one check: thresholds, recovery, degraded, unknown and maintenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.monitors.checking import Action, Rules, State, judge, next_due, ssl_expiring
from server.providers.checks import CheckOutcome

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
RULES = Rules(failure_threshold=2, recovery_threshold=2, ssl_expiry_days=14)


def outcome(status: str, **extra: object) -> CheckOutcome:
    return CheckOutcome(status=status, checked_at=NOW, attempts=1, **extra)  # type: ignore[arg-type]


def run(statuses: list[str], state: State | None = None, rules: Rules = RULES) -> list:
    """Judge a sequence of outcomes; returns (status, recorded, actions) per check."""
    current = state or State()
    seen = []
    for status in statuses:
        verdict = judge(current, outcome(status), rules)
        current = verdict.state
        seen.append((current.status, verdict.recorded_status, verdict.actions))
    return seen


def test_a_new_monitor_is_up_after_its_first_successful_check() -> None:
    assert run(["up"]) == [("up", "up", ())]


def test_one_failure_below_the_threshold_keeps_the_monitor_up_and_opens_nothing() -> None:
    assert run(["up", "down", "up"]) == [("up", "up", ()), ("up", "down", ()), ("up", "up", ())]


def test_reaching_the_failure_threshold_marks_down_and_opens_one_incident() -> None:
    seen = run(["up", "down", "down", "down"])
    assert [status for status, _, _ in seen] == ["up", "up", "down", "down"]
    assert [actions for _, _, actions in seen] == [(), (), (Action.open_down,), ()]


def test_recovery_needs_the_recovery_threshold_of_successes_in_a_row() -> None:
    seen = run(["down", "down", "up", "down", "up", "up", "up"])
    assert [status for status, _, _ in seen] == [
        "pending",
        "down",
        "down",
        "down",
        "down",
        "up",
        "up",
    ]
    assert [actions for _, _, actions in seen][5] == (Action.resolve_down,)
    assert sum(len(actions) for _, _, actions in seen) == 2


def test_slow_successes_are_degraded_and_open_a_warning_incident_at_the_threshold() -> None:
    seen = run(["up", "degraded", "degraded", "degraded", "up", "up"])
    assert [status for status, _, _ in seen] == [
        "up",
        "degraded",
        "degraded",
        "degraded",
        "up",
        "up",
    ]
    actions = [actions for _, _, actions in seen]
    assert actions == [(), (), (Action.open_degraded,), (), (), (Action.resolve_degraded,)]


def test_a_failure_while_the_servers_network_is_down_is_unknown_and_changes_no_counter() -> None:
    state = State(status="up", consecutive_failures=1)
    verdict = judge(state, outcome("down"), RULES, network_ok=False)
    assert verdict.recorded_status == "unknown"
    assert verdict.state.status == "unknown"
    assert verdict.state.consecutive_failures == 1
    assert verdict.actions == ()


def test_a_down_monitor_stays_down_through_unknown_checks_and_recovers_normally() -> None:
    down = State(status="down", consecutive_failures=2)
    unknown = judge(down, outcome("down"), RULES, network_ok=False).state
    after = run(["up", "up"], state=unknown)
    assert [status for status, _, _ in after] == ["down", "up"]
    assert after[1][2] == (Action.resolve_down,)


def test_checks_during_maintenance_count_as_maintenance_and_open_nothing() -> None:
    state = State(status="up", consecutive_failures=5)
    verdict = judge(state, outcome("down"), RULES, in_maintenance=True)
    assert (verdict.recorded_status, verdict.actions, verdict.state) == ("maintenance", (), state)


def test_a_certificate_within_the_warning_days_is_expiring() -> None:
    assert ssl_expiring(outcome("up", tls_days_left=13.5), RULES) is True
    assert ssl_expiring(outcome("up", tls_days_left=30.0), RULES) is False
    assert ssl_expiring(outcome("up"), RULES) is None
    no_warning = Rules(failure_threshold=1, recovery_threshold=1, ssl_expiry_days=0)
    assert ssl_expiring(outcome("up", tls_days_left=1.0), no_warning) is None


def test_the_next_due_time_stays_on_the_monitors_grid_and_skips_missed_slots() -> None:
    due = NOW
    assert next_due(due, 60, NOW + timedelta(seconds=0.2)) == NOW + timedelta(seconds=60)
    # Five minutes late (the server was busy): the next slot after now, not five catch-ups.
    assert next_due(due, 60, NOW + timedelta(seconds=301)) == NOW + timedelta(seconds=360)

"""What a check means for its monitor: the spec to run, and the verdict on the outcome.

Pure functions of a monitor's state and one outcome, so the engine can judge thousands of
results in memory and the rules are tested without a clock, a network or a database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from server.monitors.models import Monitor
from server.providers.checks import CheckOutcome, CheckSpec
from shared.api.monitors import MonitorStatus

UP, DOWN, DEGRADED = MonitorStatus.up.value, MonitorStatus.down.value, MonitorStatus.degraded.value
UNKNOWN, MAINTENANCE = MonitorStatus.unknown.value, MonitorStatus.maintenance.value
PENDING = MonitorStatus.pending.value


def spec_for(monitor: Monitor, *, ca_bundle: str | None = None) -> CheckSpec:
    """The check to run for a monitor row (not for heartbeats, which are evaluated).

    `ca_bundle` is a CA file trusted instead of the system's (the server's private CA).
    """
    return CheckSpec(
        type=monitor.type,  # type: ignore[arg-type]
        url=monitor.url,
        host=monitor.host,
        port=monitor.port,
        method=monitor.method,
        headers={header["name"]: header["value"] for header in monitor.headers or []},
        body=monitor.body,
        expected_status=monitor.expected_status,
        follow_redirects=monitor.follow_redirects,
        timeout_seconds=monitor.timeout_seconds,
        keyword=monitor.keyword,
        keyword_present=monitor.keyword_present,
        json_path=monitor.json_path,
        expected_value=monitor.expected_value,
        record_type=monitor.dns_record_type or "A",  # type: ignore[arg-type]
        expected_answer=monitor.dns_expected,
        resolver=monitor.dns_resolver,
        degraded_threshold_ms=monitor.degraded_threshold_ms,
        ca_bundle=ca_bundle,
    )


@dataclass(frozen=True, slots=True)
class Rules:
    """A monitor's thresholds, as far as the verdict needs them."""

    failure_threshold: int
    recovery_threshold: int
    ssl_expiry_days: int

    @classmethod
    def of(cls, monitor: Monitor) -> Rules:
        return cls(monitor.failure_threshold, monitor.recovery_threshold, monitor.ssl_expiry_days)


@dataclass(frozen=True, slots=True)
class State:
    """What the engine remembers of a monitor between checks (mirrored in its row)."""

    status: str = PENDING
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    # Degraded checks in a row (> 0), or plain ups in a row since (< 0, counting down).
    degraded_streak: int = 0

    @classmethod
    def of(cls, monitor: Monitor) -> State:
        return cls(
            monitor.status,
            monitor.consecutive_failures,
            monitor.consecutive_successes,
            monitor.degraded_streak,
        )


class Action(Enum):
    """Incident work a verdict asks for; the trigger names match TriggerType."""

    open_down = "open monitor_down"
    resolve_down = "resolve monitor_down"
    open_degraded = "open monitor_degraded"
    resolve_degraded = "resolve monitor_degraded"
    open_ssl = "open ssl_expiring"
    resolve_ssl = "resolve ssl_expiring"


@dataclass(frozen=True, slots=True)
class Verdict:
    state: State
    # What the result and rollups count: up, down, degraded, unknown or maintenance.
    recorded_status: str
    actions: tuple[Action, ...]


def judge(
    state: State,
    outcome: CheckOutcome,
    rules: Rules,
    *,
    network_ok: bool = True,
    in_maintenance: bool = False,
) -> Verdict:
    """The new state of a monitor after one check, and the incidents to open or resolve.

    1. Maintenance: the result counts as maintenance; state and incidents do not change.
    2. Down while the server's own network is down (canary failed): unknown; the counters
       stay, so a monitor that was down is still down once the network is back.
    3. Down: failures + 1, successes 0. At `failure_threshold` failures the monitor is
       down and a monitor_down incident opens (idempotent in the incidents service, so
       asking again after a restart is harmless). Below it, the status stays as it was.
    4. Up or degraded while down: successes + 1; at `recovery_threshold` the incident
       resolves and failures reset; below it the monitor stays down.
    5. Up or degraded otherwise: failures reset, the status is the outcome's.
    6. Degraded `failure_threshold` times in a row opens monitor_degraded (a warning);
       `recovery_threshold` plain ups in a row resolve it. A down check leaves that count.
    7. TLS: a certificate with `ssl_expiry_days` or fewer days left opens ssl_expiring;
       a renewed one resolves it (the engine asks only when this changes).
    """
    if in_maintenance:
        return Verdict(state, MAINTENANCE, ())
    if outcome.status == DOWN and not network_ok:
        return Verdict(replace(state, status=UNKNOWN), UNKNOWN, ())
    actions: list[Action] = []
    was_down = state.consecutive_failures >= rules.failure_threshold
    if outcome.status == DOWN:
        failures = state.consecutive_failures + 1
        status = state.status
        if failures >= rules.failure_threshold:
            status = DOWN
            if not was_down or state.status != DOWN:
                actions.append(Action.open_down)
        new = replace(state, status=status, consecutive_failures=failures, consecutive_successes=0)
        if new.status == UNKNOWN:  # below the threshold after an unknown: not proven either way
            new = replace(new, status=PENDING)
        return Verdict(new, DOWN, tuple(actions))
    successes = state.consecutive_successes + 1
    streak = state.degraded_streak
    if outcome.status == DEGRADED:
        degraded = max(streak, 0) + 1
    else:  # a plain up counts down from a degraded streak; with none it stays 0
        degraded = 0 if streak == 0 else (-1 if streak > 0 else streak - 1)
    if was_down and successes < rules.recovery_threshold:
        new = replace(state, status=DOWN, consecutive_successes=successes)
        return Verdict(replace(new, degraded_streak=degraded), outcome.status, ())
    if was_down:
        actions.append(Action.resolve_down)
    if outcome.status == DEGRADED and degraded == rules.failure_threshold:
        actions.append(Action.open_degraded)
    if degraded == -rules.recovery_threshold:
        actions.append(Action.resolve_degraded)
        degraded = 0
    new = State(outcome.status, 0, successes, degraded)
    return Verdict(new, outcome.status, tuple(actions))


def ssl_expiring(outcome: CheckOutcome, rules: Rules) -> bool | None:
    """Whether the certificate seen is within the warning time; None when none was seen."""
    if outcome.tls_days_left is None or rules.ssl_expiry_days <= 0:
        return None
    return outcome.tls_days_left <= rules.ssl_expiry_days


def describe(outcome: CheckOutcome) -> str:
    """One line for an incident or a timeline: what the check found."""
    parts = [outcome.error or outcome.status]
    if outcome.status_code is not None:
        parts.append(f"HTTP {outcome.status_code}")
    if outcome.response_time_ms is not None:
        parts.append(f"{outcome.response_time_ms:.0f} ms")
    return ", ".join(parts)


def next_due(previous_due: datetime, interval_seconds: int, now: datetime) -> datetime:
    """The next due time on the monitor's own grid, skipping slots already missed, so a
    late check does not pile up checks and a schedule never drifts by accumulation."""
    elapsed = (now - previous_due).total_seconds()
    missed = int(elapsed // interval_seconds) if elapsed > 0 else 0
    return previous_due + timedelta(seconds=interval_seconds * (missed + 1))

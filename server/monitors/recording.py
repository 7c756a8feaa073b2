"""Writing judged checks: raw results, monitor state, rollups and incidents, a batch at a time.

The check engine judges outcomes in memory (checking.judge) and hands batches here; one
call is one transaction, so a result, the state it led to, its rollup counts and the
incident it opened land together or not at all. Live events are returned, to be published
by the caller once the transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.incidents import service as incidents
from server.incidents.models import Incident
from server.monitors import checking, rollups, windows
from server.monitors.checking import Action, Verdict
from server.monitors.models import CheckResult, Monitor, take_ids
from server.notifications import outbox
from server.providers.checks import CheckOutcome
from server.service_context import Context
from shared.api.events import EventData, MonitorChecked, MonitorStatusChanged
from shared.api.incidents import Severity, TriggerType
from shared.api.notifications import EventType

# (org_id, event): published after commit.
LiveEvent = tuple[int, EventData]

_TRIGGERS: dict[Action, tuple[TriggerType, Severity]] = {
    Action.open_down: (TriggerType.monitor_down, Severity.critical),
    Action.resolve_down: (TriggerType.monitor_down, Severity.critical),
    Action.open_degraded: (TriggerType.monitor_degraded, Severity.warning),
    Action.resolve_degraded: (TriggerType.monitor_degraded, Severity.warning),
    Action.open_ssl: (TriggerType.ssl_expiring, Severity.warning),
    Action.resolve_ssl: (TriggerType.ssl_expiring, Severity.warning),
}
_OPENS = {Action.open_down, Action.open_degraded, Action.open_ssl}
ERROR_LENGTH = 1000  # of check_result.error and monitor.last_error
RESULTS = CheckResult.metadata.tables["check_result"]


@dataclass(frozen=True, slots=True)
class JudgedCheck:
    """One check of one monitor, with what it means (from checking.judge)."""

    monitor_id: int
    org_id: int
    name: str
    outcome: CheckOutcome
    verdict: Verdict
    previous_status: str
    next_check_at: datetime | None
    # Record the state? False for a check-now of a paused monitor: the result only.
    update_state: bool = True


@dataclass(frozen=True, slots=True)
class Written:
    result_ids: dict[int, int]  # index in the batch -> check_result id (dropped ones absent)
    events: list[LiveEvent]


def milliseconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def stored_error(outcome: CheckOutcome) -> str | None:
    """The error as its columns hold it (check_result.error, monitor.last_error)."""
    return outcome.error[:ERROR_LENGTH] if outcome.error else None


def result_row(check: JudgedCheck) -> dict[str, Any]:
    """The check_result columns of one check, as stored and as check-now answers them."""
    outcome = check.outcome
    return {
        "checked_at": outcome.checked_at,
        "status": check.verdict.recorded_status,
        "response_time_ms": milliseconds(outcome.response_time_ms),
        "status_code": outcome.status_code,
        "error": stored_error(outcome),
    }


def _title(action: Action, name: str, outcome: CheckOutcome) -> str:
    if action is Action.open_down:
        return f"{name} is down"
    if action is Action.open_degraded:
        return f"{name} is slow"
    days = outcome.tls_days_left or 0.0
    if days <= 0:
        return f"{name}: TLS certificate has expired"
    return f"{name}: TLS certificate expires in {days:.0f} days"


async def write(db: AsyncSession, batch: list[JudgedCheck]) -> Written:
    """Write one batch in the caller's transaction.

    1. Checks of monitors deleted meanwhile are dropped (their results have nowhere to go).
    2. Raw results: ids taken from check_result_sequence, then one executemany insert.
    3. Monitor state: one executemany update; a paused monitor's row is left alone, and
       updated_at is kept so the engine's poll for API changes does not see its own writes.
    4. Rollups: minute, hour and day counts (rollups.add_to_rollups).
    5. Incidents asked for by verdicts: opened (unless a maintenance window began since the
       engine last looked, read here from the database) or resolved, via the incidents service.
    6. Returns the result ids and the live events: monitor.check for each result,
       monitor.status when the status changed, incident.opened / incident.resolved.
    """
    ids = {check.monitor_id for check in batch}
    existing = set(await db.scalars(select(Monitor.id).where(Monitor.id.in_(ids))))
    kept = [(index, check) for index, check in enumerate(batch) if check.monitor_id in existing]
    if not kept:
        return Written({}, [])
    result_rows = [{"monitor_id": check.monitor_id, **result_row(check)} for _, check in kept]
    inserted = await _insert_results(db, result_rows)
    result_ids = {index: result_id for (index, _), result_id in zip(kept, inserted, strict=True)}
    await _update_state(db, [check for _, check in kept if check.update_state])
    await rollups.add_to_rollups(
        db,
        [
            rollups.RecordedCheck(
                monitor_id=check.monitor_id,
                checked_at=check.outcome.checked_at,
                status=check.verdict.recorded_status,
                response_time_ms=milliseconds(check.outcome.response_time_ms),
            )
            for _, check in kept
        ],
    )
    events: list[LiveEvent] = []
    for (index, check), row in zip(kept, result_rows, strict=True):
        events.append((check.org_id, _check_event(check, result_ids[index], row)))
        if check.update_state and check.verdict.state.status != check.previous_status:
            events.append((check.org_id, _status_event(check)))
        for action in check.verdict.actions:
            events.extend(await _incident(db, check, action))
    return Written(result_ids, events)


async def _insert_results(db: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert raw results with ids taken at once from the sequence; their ids in the order
    of `rows`. The sequence row is locked by this transaction until it ends, so the ids
    also grow in the order results are written."""
    connection = await db.connection()
    last = int((await connection.execute(take_ids(len(rows)))).scalar_one())
    ids = list(range(last - len(rows) + 1, last + 1))
    await connection.execute(
        insert(RESULTS),
        [{**row, "id": result_id} for row, result_id in zip(rows, ids, strict=True)],
    )
    return ids


async def _update_state(db: AsyncSession, checks: list[JudgedCheck]) -> None:
    if not checks:
        return
    table = Monitor.metadata.tables["monitor"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.paused.is_(False))
        .values(
            status=bindparam("b_status"),
            consecutive_failures=bindparam("b_failures"),
            consecutive_successes=bindparam("b_successes"),
            degraded_streak=bindparam("b_degraded"),
            last_checked_at=bindparam("b_checked_at"),
            last_response_ms=bindparam("b_response_ms"),
            last_error=bindparam("b_error"),
            ssl_expires_at=bindparam("b_ssl_expires_at"),
            next_check_at=bindparam("b_next_check_at"),
            updated_at=table.c.updated_at,
        )
    )
    rows = []
    for check in checks:
        state, outcome = check.verdict.state, check.outcome
        rows.append(
            {
                "b_id": check.monitor_id,
                "b_status": state.status,
                "b_failures": state.consecutive_failures,
                "b_successes": state.consecutive_successes,
                "b_degraded": state.degraded_streak,
                "b_checked_at": outcome.checked_at,
                "b_response_ms": milliseconds(outcome.response_time_ms),
                "b_error": stored_error(outcome),
                "b_ssl_expires_at": outcome.tls_expires_at,
                "b_next_check_at": check.next_check_at,
            }
        )
    # A Core executemany on the table: the ORM's bulk-by-primary-key path has no paused guard.
    connection = await db.connection()
    await connection.execute(statement, rows)


def _check_event(check: JudgedCheck, result_id: int, row: dict[str, Any]) -> MonitorChecked:
    return MonitorChecked(
        monitor_id=check.monitor_id,
        name=check.name,
        result_id=result_id,
        status=row["status"],
        monitor_status=check.verdict.state.status if check.update_state else None,
        checked_at=row["checked_at"],
        response_time_ms=row["response_time_ms"],
        status_code=row["status_code"],
        error=row["error"],
    )


def _status_event(check: JudgedCheck) -> MonitorStatusChanged:
    return MonitorStatusChanged(
        monitor_id=check.monitor_id,
        name=check.name,
        status=check.verdict.state.status,
        previous_status=check.previous_status,
    )


async def _incident(db: AsyncSession, check: JudgedCheck, action: Action) -> list[LiveEvent]:
    """Open or resolve the check's incident; the live events of what changed."""
    trigger_type, severity = _TRIGGERS[action]
    trigger = incidents.Trigger(check.org_id, trigger_type, "monitor", check.monitor_id)
    outcome = check.outcome
    ctx = Context(db=db)  # the system's; its events go out with the batch's
    if action not in _OPENS:
        await incidents.resolve_trigger(ctx, trigger, note=checking.describe(outcome))
    elif not await windows.in_maintenance(db, monitor_id=check.monitor_id, now=outcome.checked_at):
        incident, opened = await incidents.open_incident(
            ctx,
            trigger=trigger,
            title=_title(action, check.name, outcome),
            severity=severity,
            description=checking.describe(outcome),
        )
        if opened and incident is not None and trigger_type is TriggerType.ssl_expiring:
            await outbox.notify(ctx, _ssl_occurrence(check, incident))
    return ctx.events


def _ssl_occurrence(check: JudgedCheck, incident: Incident) -> outbox.Occurrence:
    """The `ssl.expiring` event, beside its incident's: for rules about certificates."""
    expires = check.outcome.tls_expires_at
    return outbox.Occurrence(
        org_id=check.org_id,
        type=EventType.ssl_expiring.value,
        severity=incident.severity,
        title=incident.title,
        text=incident.description or incident.title,
        dedup_key=f"ssl-{check.monitor_id}",
        data={"monitor": {"id": check.monitor_id, "name": check.name,
                          "ssl_expires_at": expires.isoformat() if expires else None}},
    )  # fmt: skip

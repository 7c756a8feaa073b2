"""Alert rules for monitors and budgets: the rule that covers a target sets its incident's
severity and adds its channels; a cooldown holds a flapping target's next incident back;
what a rule may name is the organization's own."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.incidents import service as incidents
from server.incidents.models import Incident
from server.service_context import Context
from shared.api.incidents import TriggerType
from tests.conftest import Person, World
from tests.server.api_calls import call
from tests.server.channels.receivers import WEBHOOK_SECRET, Receiver, receiver
from tests.server.test_check_engine import Target, check_now, create_monitor, target

__all__ = ["receiver", "target"]

RULES = "/alert-rules"
Client = TestClient  # type: ignore[type-arg]


async def add_rule(client: Client, person: Person, **body: Any) -> dict[str, Any]:
    status, created = await call(
        client, person, "POST", RULES, {"name": "r", "trigger_type": "monitor_down", **body}
    )
    assert status == 201, created
    return dict(created)


async def open_for(db: AsyncSession, org_id: int, monitor_id: int) -> Incident | None:
    """Open a monitor_down incident as the check engine does (default: critical)."""
    async with db.begin():
        trigger = incidents.Trigger(org_id, TriggerType.monitor_down, "monitor", monitor_id)
        incident, _ = await incidents.open_incident(
            Context(db=db), trigger=trigger, title="down", severity="critical"
        )
    return incident


async def test_the_most_severe_covering_rule_sets_the_severity(
    client: Client, world: World, db: AsyncSession
) -> None:
    tagged = await create_monitor(client, world.alice, url="https://a.example/", tags=["batch"])
    other = await create_monitor(client, world.alice, url="https://b.example/", name="B")
    rule = await add_rule(client, world.alice, severity="warning", scope={"tags": ["batch"]})
    await add_rule(
        client, world.alice, name="by id", severity="info", scope={"monitor_ids": [tagged["id"]]}
    )
    found = await open_for(db, world.org_a, tagged["id"])
    assert found is not None
    assert (found.severity, found.alert_rule_id) == ("warning", rule["id"])
    untouched = await open_for(db, world.org_a, other["id"])
    assert untouched is not None
    assert (untouched.severity, untouched.alert_rule_id) == ("critical", None)


async def test_a_disabled_rule_or_another_trigger_type_changes_nothing(
    client: Client, world: World, db: AsyncSession
) -> None:
    monitor = await create_monitor(client, world.alice, url="https://a.example/")
    rule = await add_rule(client, world.alice, severity="info")
    await add_rule(client, world.alice, name="degraded", trigger_type="monitor_degraded")
    status, toggled = await call(client, world.alice, "POST", f"{RULES}/{rule['id']}/toggle")
    assert (status, toggled["enabled"]) == (200, False)
    found = await open_for(db, world.org_a, monitor["id"])
    assert found is not None and found.severity == "critical"


async def test_a_cooldown_holds_back_a_flapping_target_until_a_member_resolves(
    client: Client, world: World, db: AsyncSession
) -> None:
    monitor = await create_monitor(client, world.alice, url="https://a.example/")
    await add_rule(client, world.alice, cooldown_minutes=30)
    trigger = incidents.Trigger(world.org_a, TriggerType.monitor_down, "monitor", monitor["id"])
    first = await open_for(db, world.org_a, monitor["id"])
    assert first is not None
    async with db.begin():
        await incidents.resolve_trigger(Context(db=db), trigger, note="recovered")
    assert await open_for(db, world.org_a, monitor["id"]) is None  # flapping: held back
    async with db.begin():  # a member resolved the last one instead: the cooldown resets
        await db.execute(
            update(Incident).where(Incident.id == first.id).values(resolved_automatically=False)
        )
    again = await open_for(db, world.org_a, monitor["id"])
    assert again is not None and again.id != first.id


async def test_a_monitor_going_down_is_told_to_its_rules_channels(
    client: Client,
    world: World,
    db: AsyncSession,
    receiver: Receiver,
    target: tuple[Target, str],
) -> None:
    state, url = target
    receiver.answer(204)
    status, channel = await call(
        client, world.alice, "POST", "/notifications/channels",
        {"name": "payments-team", "type": "webhook",
         "config": {"url": f"{receiver.url}/team", "secret": WEBHOOK_SECRET}},
    )  # fmt: skip
    assert status == 201, channel
    monitor = await create_monitor(client, world.alice, url=url, tags=["payments"])
    await add_rule(
        client, world.alice, severity="error", scope={"tags": ["payments"]},
        channel_ids=[channel["id"]],
    )  # fmt: skip
    state.status = 503
    assert (await check_now(client, world.alice, monitor["id"]))["status"] == "down"
    async with db.begin():
        incident = await db.scalar(select(Incident).where(Incident.target_id == monitor["id"]))
    assert incident is not None and incident.severity == "error"
    for _ in range(200):
        if receiver.requests:
            break
        await asyncio.sleep(0.05)
    body = receiver.last.json()
    assert (body["type"], body["data"]["incident"]["severity"]) == ("incident.opened", "error")


async def test_bad_rules_are_a_400_naming_the_field(client: Client, world: World) -> None:
    theirs = await create_monitor(client, world.carol, url="https://c.example/")
    cases = [
        ({"trigger_type": "cloudwatch_metric"}, "trigger_type"),
        ({"trigger_type": "infra_metric"}, "metric"),
        ({"trigger_type": "agent_offline", "scope": {"monitor_ids": [1]}}, "monitor_ids"),
        ({"threshold": 90}, "threshold"),
        ({"metric": "cpu_pct"}, "metric"),
        ({"scope": {"agent_ids": [1]}}, "scope"),
        ({"scope": {"monitor_ids": [theirs["id"]]}}, "scope"),
        ({"channel_ids": [987654]}, "channel_ids"),
        ({"trigger_type": "budget_exceeded", "scope": {"tags": ["x"]}}, "scope"),
        ({"severity": "fatal"}, "severity"),
        ({"cooldown_minutes": -1}, "cooldown_minutes"),
    ]
    for extra, named in cases:
        body = {"name": "bad", "trigger_type": "monitor_down", **extra}
        status, answer = await call(client, world.alice, "POST", RULES, body)
        assert status == 400, (extra, answer)
        assert named in answer["detail"], answer
    assert (await call(client, world.alice, "GET", RULES))[1]["total"] == 0


async def test_rules_are_the_orgs_own_and_admins_change_them(client: Client, world: World) -> None:
    rule = await add_rule(client, world.alice, severity="warning")
    status, dup = await call(
        client, world.alice, "POST", RULES, {"name": "r", "trigger_type": "ssl_expiring"}
    )
    assert (status, dup["detail"]) == (409, "An alert rule named 'r' already exists")
    status, changed = await call(
        client, world.alice, "PATCH", f"{RULES}/{rule['id']}", {"severity": "error"}
    )
    assert (status, changed["severity"]) == (200, "error")
    assert (await call(client, world.bob, "GET", f"{RULES}/{rule['id']}"))[0] == 200
    assert (await call(client, world.bob, "PATCH", f"{RULES}/{rule['id']}", {}))[0] in (400, 403)
    assert (await call(client, world.bob, "DELETE", f"{RULES}/{rule['id']}"))[0] == 403
    assert (await call(client, world.carol, "GET", f"{RULES}/{rule['id']}"))[0] == 404
    assert (await call(client, world.alice, "DELETE", f"{RULES}/{rule['id']}"))[0] == 204

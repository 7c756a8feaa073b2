"""Metric alert rules: breach and recovery counts, late samples that never alert, overrides,
per-mount and per-container targets, backtests, and what a rule may name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.incidents.models import Incident
from tests.conftest import Person, World
from tests.server.agent_calls import Client, add_agent, post, sample, series_of
from tests.server.api_calls import call

RULES = "/alert-rules"


async def add_metric_rule(client: Client, person: Person, **body: Any) -> dict[str, Any]:
    fields = {"name": "hot cpu", "trigger_type": "infra_metric", "metric": "cpu_pct",
              "condition": "above", "threshold": 90.0, "breach_count": 2,
              "recovery_count": 2}  # fmt: skip
    status, created = await call(client, person, "POST", RULES, {**fields, **body})
    assert status == 201, created
    return dict(created)


async def incidents_of(client: Client, person: Person, agent_id: int) -> list[dict[str, Any]]:
    _, found = await call(client, person, "GET", f"/incidents?agent_id={agent_id}&sort=opened_at")
    return list(found["items"])


async def test_an_oscillating_value_opens_one_incident_and_recovery_resolves_it(
    client: Client, world: World
) -> None:
    agent = await add_agent(client, world.alice)
    rule = await add_metric_rule(client, world.alice, severity="warning")
    flapping = [95, 80, 95, 80, 95, 96, 80, 97, 85, 84]
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    for each in series_of([float(v) for v in flapping], end=end, step=5):
        assert (await post(client, agent["token"], [each]))[0] == 202
    found = await incidents_of(client, world.bob, agent["id"])
    assert [(i["severity"], i["status"], i["trigger_type"]) for i in found] == [
        ("warning", "resolved", "infra_metric")
    ]
    assert "cpu_pct above 90" in found[0]["title"]
    status, tested = await call(
        client, world.bob, "POST", f"{RULES}/{rule['id']}/backtest",
        {"from": (end - timedelta(minutes=5)).isoformat(), "to": datetime.now(UTC).isoformat()},
    )  # fmt: skip
    assert status == 200 and tested["samples"] == len(flapping)
    assert [(i["target"], i["peak_value"], i["resolved_at"] is not None)
            for i in tested["incidents"]] == [("host", 97.0, True)]  # fmt: skip


async def test_late_samples_never_open_alerts(client: Client, world: World) -> None:
    agent = await add_agent(client, world.alice)
    rule = await add_metric_rule(client, world.alice)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    status, answer = await post(client, agent["token"], series_of([99.0] * 5, end=an_hour_ago))
    assert (status, answer["late"]) == (202, 5)
    assert await incidents_of(client, world.bob, agent["id"]) == []
    since = (an_hour_ago - timedelta(minutes=5)).isoformat()
    _, tested = await call(
        client, world.bob, "POST", f"{RULES}/{rule['id']}/backtest",
        {"from": since, "to": datetime.now(UTC).isoformat()},
    )  # fmt: skip
    assert [i["resolved_at"] for i in tested["incidents"]] == [None]


async def test_each_mount_and_container_is_a_target_of_its_own(
    client: Client, world: World
) -> None:
    agent = await add_agent(client, world.alice)
    await add_metric_rule(client, world.alice, name="full", metric="disk_pct", threshold=90.0,
                          breach_count=1)  # fmt: skip
    await add_metric_rule(client, world.alice, name="hog", metric="container_cpu_pct",
                          threshold=50.0, breach_count=1)  # fmt: skip
    hog = {"name": "worker", "state": "running", "cpu_pct": 75.0}
    calm = {"name": "web", "state": "running", "cpu_pct": 5.0}
    disks = {"/": 95.0, "/data": 97.0, "/boot": 10.0}
    await post(client, agent["token"], [sample(disks=disks)], containers=[hog, calm])
    titles = sorted(i["title"] for i in await incidents_of(client, world.bob, agent["id"]))
    assert titles == [
        "web-1 /: disk_pct above 90 (95)",
        "web-1 /data: disk_pct above 90 (97)",
        "web-1 worker: container_cpu_pct above 50 (75)",
    ]


async def test_an_override_sets_an_agents_threshold_or_turns_the_rule_off(
    client: Client, world: World, db: AsyncSession
) -> None:
    build = await add_agent(client, world.alice, "build")
    web = await add_agent(client, world.alice, "web")
    rule = await add_metric_rule(client, world.alice, breach_count=1)
    base = f"{RULES}/{rule['id']}/overrides"
    status, set_ = await call(
        client, world.alice, "PUT", f"{base}/{build['id']}", {"threshold": 99.5}
    )
    assert (status, set_["threshold"], set_["agent_name"]) == (200, 99.5, "build")
    assert (await call(client, world.bob, "PUT", f"{base}/{web['id']}", {"enabled": False}))[
        0
    ] == 403
    await call(client, world.alice, "PUT", f"{base}/{web['id']}", {"enabled": False})
    _, listed = await call(client, world.bob, "GET", base)
    assert [(o["agent_name"], o["enabled"]) for o in listed] == [("build", True), ("web", False)]
    await post(client, build["token"], [sample(cpu=95.0)])
    await post(client, web["token"], [sample(cpu=95.0)])
    assert await db.scalar(select(Incident.id)) is None
    assert (await call(client, world.alice, "DELETE", f"{base}/{web['id']}"))[0] == 204
    assert (await call(client, world.alice, "DELETE", f"{base}/{web['id']}"))[0] == 404
    await post(client, web["token"], [sample(datetime.now(UTC) + timedelta(seconds=1), cpu=95.0)])
    assert [i["title"] for i in await incidents_of(client, world.bob, web["id"])] == [
        "web: cpu_pct above 90 (95)"
    ]


async def test_a_rule_covers_agents_by_id_or_tag(client: Client, world: World) -> None:
    tagged = await add_agent(client, world.alice, "db-1", tags=["db"])
    other = await add_agent(client, world.alice, "web-1")
    await add_metric_rule(client, world.alice, breach_count=1, scope={"tags": ["db"]})
    for agent in (tagged, other):
        await post(client, agent["token"], [sample(cpu=99.0)])
    assert len(await incidents_of(client, world.bob, tagged["id"])) == 1
    assert await incidents_of(client, world.bob, other["id"]) == []


async def test_a_metric_rule_must_say_what_it_watches_and_name_own_agents(
    client: Client, world: World
) -> None:
    carols = await add_agent(client, world.carol, "carol's")
    base = {"name": "r", "trigger_type": "infra_metric", "metric": "cpu_pct",
            "condition": "above", "threshold": 1.0}  # fmt: skip
    cases = [
        ({"threshold": None}, "threshold"),
        ({"scope": {"monitor_ids": [1]}}, "monitor_ids"),
        ({"scope": {"agent_ids": [carols["id"]]}}, "agent"),
        ({"metric": "cpu_temp"}, "metric"),
        ({"trigger_type": "monitor_down", "condition": None, "threshold": None}, "metric"),
        ({"trigger_type": "cloudwatch_metric"}, "trigger_type"),
    ]
    for change, named in cases:
        status, answer = await call(client, world.alice, "POST", RULES, {**base, **change})
        assert status == 400 and named in answer["detail"], (change, answer)
    rule = await add_metric_rule(client, world.alice)
    status, _ = await call(
        client, world.alice, "PUT", f"{RULES}/{rule['id']}/overrides/{carols['id']}", {}
    )
    assert status == 404
    status, answer = await call(
        client, world.alice, "POST", f"{RULES}/{rule['id']}/backtest",
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    )  # fmt: skip
    assert status == 400 and "after" in answer["detail"]


async def test_an_agent_offline_rule_sets_the_offline_incidents_severity(
    client: Client, world: World
) -> None:
    status, rule = await call(
        client, world.alice, "POST", RULES,
        {"name": "down hosts", "trigger_type": "agent_offline", "severity": "warning"},
    )  # fmt: skip
    assert status == 201 and rule["metric"] is None


async def test_deleting_a_metric_rule_resolves_its_incidents(client: Client, world: World) -> None:
    agent = await add_agent(client, world.alice)
    rule = await add_metric_rule(client, world.alice, breach_count=1)
    await post(client, agent["token"], [sample(cpu=99.0)])
    (opened,) = await incidents_of(client, world.bob, agent["id"])
    assert (await call(client, world.alice, "DELETE", f"{RULES}/{rule['id']}"))[0] == 204
    _, found = await call(client, world.bob, "GET", f"/incidents/{opened['id']}")
    assert found["status"] == "resolved"


async def test_a_rule_added_or_switched_on_applies_to_the_next_sample(
    client: Client, world: World
) -> None:
    agent = await add_agent(client, world.alice)
    start = datetime.now(UTC) - timedelta(seconds=30)
    await post(client, agent["token"], [sample(start, cpu=99.0)])  # no rule yet
    rule = await add_metric_rule(client, world.alice, breach_count=1, enabled=False)
    await post(client, agent["token"], [sample(start + timedelta(seconds=10), cpu=99.0)])
    assert await incidents_of(client, world.bob, agent["id"]) == []
    await call(client, world.alice, "POST", f"{RULES}/{rule['id']}/toggle")
    await post(client, agent["token"], [sample(start + timedelta(seconds=20), cpu=99.0)])
    assert len(await incidents_of(client, world.bob, agent["id"])) == 1


async def test_a_rule_widened_to_an_agent_applies_to_its_next_sample(
    client: Client, world: World
) -> None:
    tagged = await add_agent(client, world.alice, "db-1", tags=["db"])
    other = await add_agent(client, world.alice, "web-1")
    rule = await add_metric_rule(client, world.alice, breach_count=1, scope={"tags": ["db"]})
    start = datetime.now(UTC) - timedelta(seconds=30)
    await post(client, other["token"], [sample(start, cpu=99.0)])  # not covered
    assert await incidents_of(client, world.bob, other["id"]) == []
    status, _ = await call(client, world.alice, "PATCH", f"{RULES}/{rule['id']}", {"scope": {}})
    assert status == 200
    await post(client, other["token"], [sample(start + timedelta(seconds=10), cpu=99.0)])
    assert len(await incidents_of(client, world.bob, other["id"])) == 1
    assert await incidents_of(client, world.bob, tagged["id"]) == []


async def test_a_deleted_rule_judges_no_later_sample(client: Client, world: World) -> None:
    agent = await add_agent(client, world.alice)
    rule = await add_metric_rule(client, world.alice, breach_count=1)
    start = datetime.now(UTC) - timedelta(seconds=30)
    await post(client, agent["token"], [sample(start, cpu=10.0)])  # the rule is judged
    assert (await call(client, world.alice, "DELETE", f"{RULES}/{rule['id']}"))[0] == 204
    status, answer = await post(client, agent["token"], [sample(start + timedelta(seconds=10),
                                                               cpu=99.0)])  # fmt: skip
    assert (status, answer["accepted"]) == (202, 1)
    assert await incidents_of(client, world.bob, agent["id"]) == []

"""GET /overview: one read for a dashboard's first frame. Its counts and lists agree with
the full reads, it never shows another organization's data, every role reads it, and the
cost part is there only when the plan includes cloud accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from server.billing.models import Plan
from server.monitors.models import CheckResult, Monitor
from server.orgs.models import Organization
from shared.api.incidents import Severity
from shared.client import AsyncClient
from tests.builders import Person
from tests.conftest import World
from tests.server.test_budgets import add_account, add_costs

OVERVIEW = "/api/v1/overview"


async def overview(client: TestClient, person: Person, query: str = "") -> dict[str, Any]:  # type: ignore[type-arg]
    response = await client.get(OVERVIEW + query, headers=person.headers)
    assert response.status == 200, await response.text()
    found: dict[str, Any] = await response.json()
    return found


async def create_monitor(client: TestClient, person: Person, name: str, **extra: Any) -> int:  # type: ignore[type-arg]
    body = {"name": name, "type": "http", "url": "http://127.0.0.1:9/", **extra}
    response = await client.post("/api/v1/monitors", json=body, headers=person.headers)
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def open_incident(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    title: str,
    severity: str = "critical",
) -> int:
    body = {"title": title, "severity": severity}
    response = await client.post("/api/v1/incidents", json=body, headers=person.headers)
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def act(client: TestClient, person: Person, incident_id: int, action: str) -> None:  # type: ignore[type-arg]
    response = await client.post(
        f"/api/v1/incidents/{incident_id}/{action}", json={}, headers=person.headers
    )
    assert response.status == 200, await response.text()


async def set_status(db: AsyncSession, monitor_id: int, status: str, error: str = "") -> None:
    """What the check engine (off in tests) leaves in a monitor's row."""
    async with db.begin():
        await db.execute(
            update(Monitor)
            .where(Monitor.id == monitor_id)
            .values(status=status, last_error=error or None)
        )


async def add_checks(db: AsyncSession, monitor_id: int, times_ms: list[int | None]) -> None:
    start = datetime.now(UTC) - timedelta(minutes=len(times_ms))
    async with db.begin():
        for n, ms in enumerate(times_ms):
            db.add(
                CheckResult(
                    monitor_id=monitor_id, checked_at=start + timedelta(minutes=n),
                    status="up" if ms is not None else "down", response_time_ms=ms,
                )
            )  # fmt: skip


async def test_the_overview_counts_monitors_and_incidents_and_lists_what_is_wrong(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    alice = world.alice
    down = await create_monitor(client, alice, "payments api")
    slow = await create_monitor(client, alice, "search api")
    await create_monitor(client, alice, "docs site")
    await create_monitor(client, alice, "old site", paused=True)
    await set_status(db, down, "down", "connection refused")
    await set_status(db, slow, "degraded")
    await open_incident(client, alice, "checkout is down", "critical")
    acknowledged = await open_incident(client, alice, "disk filling", "warning")
    await act(client, alice, acknowledged, "acknowledge")
    resolved = await open_incident(client, alice, "blip", "error")
    await act(client, alice, resolved, "resolve")

    found = await overview(client, alice)

    monitors = found["monitors"]
    assert monitors["total"] == 4
    assert monitors["by_status"] == {
        "up": 0, "down": 1, "degraded": 1, "pending": 1, "paused": 1, "maintenance": 0,
        "unknown": 0,
    }  # fmt: skip
    assert [(m["name"], m["status"]) for m in monitors["troubled"]] == [
        ("payments api", "down"),
        ("search api", "degraded"),
    ]
    assert monitors["troubled"][0]["last_error"] == "connection refused"
    # Sparklines: the troubled first, then the others by name, the paused one last.
    assert [m["name"] for m in monitors["latency"]] == [
        "payments api", "search api", "docs site", "old site",
    ]  # fmt: skip
    incidents = found["incidents"]
    assert (incidents["open"], incidents["acknowledged"]) == (1, 1)
    assert incidents["by_severity"] == {"info": 0, "warning": 1, "error": 0, "critical": 1}
    assert [i["title"] for i in incidents["newest"]] == ["disk filling", "checkout is down"]
    assert [i["title"] for i in incidents["recent"]] == [
        "blip", "disk filling", "checkout is down",
    ]  # fmt: skip
    assert found["agents"] == {"total": 0, "online": 0, "offline": 0}
    assert found["unread_notifications"] == 0
    assert found["costs"]["current_month"] == "0.00" and found["budgets_over_threshold"] == []
    assert found["read_at"].endswith("Z")


async def test_latency_gives_the_latest_response_times_oldest_first(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    quiet = await create_monitor(client, world.alice, "a quiet one")
    busy = await create_monitor(client, world.alice, "b busy one")
    await add_checks(db, busy, [10, 20, None, 40, 50])

    found = await overview(client, world.alice, "?latency_monitors=1&latency_points=3")

    (followed,) = found["monitors"]["latency"]
    assert followed["name"] == "a quiet one" and followed["monitor_id"] == quiet
    assert followed["points"] == []
    found = await overview(client, world.alice, "?latency_points=3")
    points = found["monitors"]["latency"][1]["points"]
    assert [point["response_time_ms"] for point in points] == [None, 40, 50]
    assert points[0]["result_id"] < points[1]["result_id"] < points[2]["result_id"]
    assert (await overview(client, world.alice, "?latency_monitors=0"))["monitors"]["latency"] == []


async def test_carol_of_org_b_never_sees_org_as_counts(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    secret = await create_monitor(client, world.alice, "org A api")
    await set_status(db, secret, "down")
    await add_checks(db, secret, [12])
    await open_incident(client, world.alice, "org A secret")
    account = await add_account(db, world.org_a)
    today = datetime.now(UTC).date()
    await add_costs(db, world.org_a, account, [(today, "Amazon EC2", "99.00")])
    await create_monitor(client, world.carol, "org B api")

    found = await overview(client, world.carol)

    assert found["monitors"]["total"] == 1 and found["monitors"]["by_status"]["down"] == 0
    assert found["monitors"]["troubled"] == []
    assert [m["name"] for m in found["monitors"]["latency"]] == ["org B api"]
    assert found["monitors"]["latency"][0]["points"] == []
    assert (found["incidents"]["open"], found["incidents"]["newest"]) == (0, [])
    assert found["incidents"]["recent"] == []
    assert found["costs"]["current_month"] == "0.00"
    assert "org A" not in str(found)


async def test_a_viewer_reads_the_same_overview_as_the_superadmin(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await create_monitor(client, world.alice, "payments api")
    await open_incident(client, world.alice, "checkout is down", "error")

    as_bob = await overview(client, world.bob)
    as_alice = await overview(client, world.alice)

    assert as_bob["incidents"]["by_severity"]["error"] == 1
    assert as_bob["monitors"]["by_status"]["pending"] == 1
    assert {**as_bob, "read_at": None} == {**as_alice, "read_at": None}


async def test_costs_and_budgets_past_their_threshold_are_in_the_overview(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    account = await add_account(db, world.org_a)
    today = datetime.now(UTC).date()
    await add_costs(db, world.org_a, account, [(today, "Amazon EC2", "120.00")])
    for name, amount in (("small", "100.00"), ("near", "140.00"), ("large", "10000.00")):
        body = {"name": name, "amount": amount, "period": "monthly"}
        response = await client.post("/api/v1/budgets", json=body, headers=world.alice.headers)
        assert response.status == 201, await response.text()

    found = await overview(client, world.bob)

    assert found["costs"]["current_month"] == "120.00" and found["costs"]["currency"] == "USD"
    over = found["budgets_over_threshold"]
    assert [(b["name"], b["state"]) for b in over] == [("small", "exceeded"), ("near", "warning")]


async def test_a_plan_without_cloud_accounts_gets_no_cost_part(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    async with db.begin():
        plan = Plan(
            code="uptime", name="Uptime only", limits={"cloud_accounts": 0, "monitors": 50},
            modules=[],
        )  # fmt: skip
        db.add(plan)
        await db.flush()
        await db.execute(
            update(Organization).where(Organization.id == world.org_a).values(plan_id=plan.id)
        )
    await create_monitor(client, world.alice, "payments api")

    found = await overview(client, world.alice)

    assert found["costs"] is None and found["budgets_over_threshold"] is None
    assert found["monitors"]["total"] == 1
    assert (await overview(client, world.carol))["costs"] is not None  # org B keeps its plan


async def test_bad_query_values_are_a_400_naming_the_parameter(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    response = await client.get(OVERVIEW + "?latency_monitors=99", headers=world.alice.headers)
    assert response.status == 400
    assert "latency_monitors" in (await response.json())["detail"]
    response = await client.get(OVERVIEW)
    assert response.status == 401
    assert (await response.json())["detail"]


async def test_the_client_reads_the_overview_as_models(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "checkout is down", "critical")
    url = str(client.make_url("/")).rstrip("/")
    async with AsyncClient(url, access_token=world.bob.access_token) as api:
        found = await api.overview.get(latency_monitors=0)
    assert found.incidents.by_severity[Severity.critical] == 1
    assert found.incidents.newest[0].title == "checkout is down"
    assert found.monitors.latency == [] and found.costs is not None

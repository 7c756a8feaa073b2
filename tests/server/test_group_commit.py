"""Agent posts that arrive together share one transaction and one commit
(server/group_commit.py); each is answered after that commit, and a post that fails does so
alone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from server.audit.models import AuditLog
from server.config import Settings
from server.context import ENGINE, RUNTIME, SESSIONS
from server.events.bus import EVENT_BUS
from server.group_commit import GroupCommit
from server.service_context import Context
from tests import postgres
from tests.conftest import World
from tests.server.agent_calls import Client, add_agent, post, sample
from tests.server.api_calls import call


@contextlib.asynccontextmanager
async def writes_held(
    client: Client, settings: Settings, agent_id: int, then_delete: int | None = None
) -> AsyncIterator[None]:
    """Another writer holds up the first agent's post (the worker, say): SQLite's write lock,
    or on PostgreSQL the agent's row. Posts arriving meanwhile queue behind it. Before it
    lets go, it deletes the agent `then_delete`, if given."""
    delete = "DELETE FROM agent WHERE id = :id"
    if not postgres.enabled():
        locker = sqlite3.connect(settings.data_dir / "upmetr.db", isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            yield
            if then_delete is not None:
                locker.execute(delete, {"id": then_delete})
            locker.execute("COMMIT")
        finally:
            if locker.in_transaction:
                locker.execute("ROLLBACK")
            locker.close()
        return
    async with client.app[SESSIONS]() as db, db.begin():
        await db.execute(text("SELECT id FROM agent WHERE id = :id FOR UPDATE"), {"id": agent_id})
        yield
        if then_delete is not None:
            await db.execute(text(delete), {"id": then_delete})


@contextlib.asynccontextmanager
async def commits_storing_samples(client: Client) -> AsyncIterator[list[int]]:
    """The number of committed transactions that stored samples meanwhile (in a list)."""
    storing: set[int] = set()  # connections whose transaction stored samples
    commits = [0]

    def executed(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO agent_sample"):
            storing.add(id(connection))

    def committed(connection: Any) -> None:
        if id(connection) in storing:
            storing.discard(id(connection))
            commits[0] += 1

    engine = client.app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    try:
        yield commits
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", committed)


async def posts_held_up(
    client: Client, settings: Settings, agents: list[dict[str, Any]], bodies: list[Any],
    then_delete: int | None = None,
) -> list[int]:  # fmt: skip
    """Each agent posts its body while the first agent's post is held up; the statuses."""
    async with writes_held(client, settings, agents[0]["id"], then_delete):
        first = asyncio.create_task(post(client, agents[0]["token"], bodies[0]))
        await asyncio.sleep(0.3)  # the first post waits on the other writer
        rest = [
            asyncio.create_task(post(client, agent["token"], body))
            for agent, body in zip(agents[1:], bodies[1:], strict=True)
        ]
        await asyncio.sleep(0.3)  # the others are queued behind it
        assert not any(task.done() for task in [first, *rest])
    return [status for status, _ in await asyncio.gather(first, *rest)]


async def test_posts_arriving_together_share_a_commit_and_each_is_kept_and_told(
    client: Client, world: World, settings: Settings
) -> None:
    agents = [await add_agent(client, world.alice, f"web-{n}") for n in range(12)]
    stream = client.app[EVENT_BUS].subscribe(world.org_a, after=None)
    at = datetime.now(UTC) - timedelta(seconds=5)
    cpus = [float(n) for n in range(12)]
    async with commits_storing_samples(client) as commits:
        statuses = await posts_held_up(
            client, settings, agents, [[sample(at, cpu=cpu)] for cpu in cpus]
        )
    assert statuses == [202] * 12
    # The first post alone, the eleven behind it together: 12 commits without grouping.
    assert commits == [2]
    for agent, cpu in zip(agents, cpus, strict=True):
        status, found = await call(client, world.alice, "GET", f"/agents/{agent['id']}")
        assert status == 200 and found["cpu_pct"] == cpu
    reported = set()
    while len(reported) < 12:
        told = await asyncio.wait_for(stream.next(), timeout=2)
        assert told is not None
        if told.type == "agent.metrics":
            data = json.loads(told.data_json)
            reported.add((data["agent_id"], data["cpu_pct"]))
    stream.close()
    assert reported == {(a["id"], cpu) for a, cpu in zip(agents, cpus, strict=True)}


async def test_a_failing_post_in_a_group_fails_alone_and_the_others_are_kept(
    client: Client, world: World, settings: Settings
) -> None:
    agents = [await add_agent(client, world.alice, f"web-{n}") for n in range(6)]
    now = datetime.now(UTC)
    bodies = [[sample(now - timedelta(seconds=5), cpu=float(n))] for n in range(6)]
    bodies[3] = [sample(now + timedelta(minutes=20))]  # ahead of the server's clock: a 400
    async with commits_storing_samples(client) as commits:
        statuses = await posts_held_up(client, settings, agents, bodies)
    assert statuses == [202, 202, 202, 400, 202, 202]
    # The first alone; the group behind it rolled back at the fourth post, which was
    # answered alone, and the other four went on together.
    assert commits == [2]
    for n, agent in enumerate(agents):
        status, found = await call(client, world.alice, "GET", f"/agents/{agent['id']}")
        assert status == 200
        assert found["cpu_pct"] == (None if n == 3 else float(n))


async def test_when_the_shared_commit_fails_each_work_is_committed_or_refused_alone(
    client: Client,
) -> None:
    """Here the commit fails on an entry one work left for it (an audit entry without its
    action): the others are kept, each in a transaction of its own."""
    sessions = client.app[SESSIONS]
    group = GroupCommit(sessions, limit=8)

    def context_for(db: Any) -> Context:
        return Context(db=db, runtime=client.app[RUNTIME])

    def work(action: str | None) -> Any:
        async def leave_an_entry(ctx: Context) -> str | None:
            ctx.failed_audits.append({"action": action, "status": "failed"})
            return action

        return leave_an_entry

    actions = ["grouped.one", None, "grouped.three"]
    answers = await asyncio.gather(
        *(group.run(work(action), context_for) for action in actions), return_exceptions=True
    )
    assert answers[0] == "grouped.one" and answers[2] == "grouped.three"
    assert isinstance(answers[1], IntegrityError)
    async with sessions() as db:
        kept = await db.scalars(select(AuditLog.action).where(AuditLog.action.like("grouped.%")))
        assert sorted(kept) == ["grouped.one", "grouped.three"]


async def test_a_post_whose_agent_is_deleted_while_it_waits_is_a_401(
    client: Client, world: World, settings: Settings
) -> None:
    agents = [await add_agent(client, world.alice, f"web-{n}") for n in range(3)]
    at = datetime.now(UTC) - timedelta(seconds=5)
    bodies = [[sample(at)] for _ in agents]
    statuses = await posts_held_up(client, settings, agents, bodies, then_delete=agents[1]["id"])
    assert statuses == [202, 401, 202]
    status, found = await call(client, world.alice, "GET", f"/agents/{agents[2]['id']}")
    assert status == 200 and found["cpu_pct"] == 10.0  # the others are kept

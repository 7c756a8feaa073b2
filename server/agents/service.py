"""Infra agents: members add and manage them; each agent posts its samples with its token.

`ingest(ctx, batch)`, called with the agent's own context (its token authenticated it):
1. The samples, sorted by `ts`. One more than ten minutes ahead of this server's clock is
   a 400: the host's clock is wrong, and a future sample would hide every real one.
2. Samples whose `ts` is stored already are duplicates (a spool replayed twice): counted,
   not stored. The rest are stored (server/metrics/storage.py), with the containers under
   the batch's newest sample.
3. A stored sample is live when it is newer than the agent's newest and at most three
   intervals old (a minute at least); live samples go to the metric rules
   (server/alert_rules/live.py), read with the rest before the first write. Older ones
   (spooled while the server was unreachable) fill history and never open alerts. A
   sample older than what is rolled up already moves the rollups back, so its buckets are
   computed again (server/metrics/rollups.py).
4. The agent is seen (server/agents/presence.py) and takes the batch's host fields; a
   newer sample becomes its latest, its containers the agent's containers, and an
   `agent.metrics` event tells the consoles.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, cast, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents import install, presence
from server.agents.models import Agent, AgentContainer
from server.agents.tokens import INVALID_TOKEN, new_token
from server.alert_rules import live
from server.alert_rules.models import AlertState
from server.audit import service as audit
from server.billing.plans import check_limit
from server.db import paging
from server.db.base import utcnow
from server.db.owned import check_name_free, flush_named, one_of_org
from server.db.text_match import containing
from server.http.errors import BadRequest, Unauthorized
from server.http.principal import AgentPrincipal
from server.incidents import service as incidents
from server.metrics import blocks, storage
from server.metrics.models import FIVE_MINUTES, HOUR
from server.metrics.storage import table_of
from server.service_context import Context
from shared.api.agents import (
    AgentCreate,
    AgentQuery,
    AgentRead,
    AgentStatus,
    AgentUpdate,
    AgentWithToken,
    ContainerStats,
    HostFacts,
    IngestAccepted,
    IngestBatch,
    Sample,
)
from shared.api.billing import Limit
from shared.api.common import Page
from shared.api.events import AgentMetricsReported

NOUN = "Agent"
MAX_AHEAD = timedelta(minutes=10)
MIN_LIVE_WINDOW = timedelta(seconds=60)


def agent_read(agent: Agent) -> AgentRead:
    return AgentRead(
        id=agent.id,
        name=agent.name,
        tags=list(agent.tags),
        status=AgentStatus(agent.status),
        last_seen_at=agent.last_seen_at,
        hostname=agent.hostname,
        os=agent.os,
        agent_version=agent.agent_version,
        interval_seconds=agent.interval_seconds,
        facts=HostFacts.model_validate(agent.facts) if agent.facts else None,
        token_hint=agent.token_hint,
        latest_at=agent.latest_at,
        cpu_pct=agent.cpu_pct,
        mem_pct=agent.mem_pct,
        disk_pct=agent.disk_pct,
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )


def _with_token(agent: Agent, token: str) -> AgentWithToken:
    return AgentWithToken(**agent_read(agent).model_dump(), token=token)


async def list_agents(ctx: Context, *, query: AgentQuery) -> Page[AgentRead]:
    statement = select(Agent).where(Agent.org_id == ctx.auth.org_id)
    if query.status is not None:
        statement = statement.where(Agent.status == query.status.value)
    if query.tag:
        tagged = containing(json.dumps(query.tag), lower=False)
        statement = statement.where(cast(Agent.tags, String).like(tagged, escape="\\"))
    if query.q:
        like = containing(query.q)
        statement = statement.where(
            or_(
                func.lower(Agent.name).like(like, escape="\\"),
                func.lower(Agent.hostname).like(like, escape="\\"),
            )
        )
    statement = statement.order_by(Agent.name, Agent.id)
    return await paging.page_of(ctx.db, statement, query, Page[AgentRead], agent_read)


async def agent_of(ctx: Context, agent_id: int) -> Agent:
    return await one_of_org(ctx.db, Agent, org_id=ctx.auth.org_id, id=agent_id, noun=NOUN)


async def get_agent(ctx: Context, *, agent_id: int) -> AgentRead:
    return agent_read(await agent_of(ctx, agent_id))


async def create_agent(ctx: Context, *, data: AgentCreate) -> AgentWithToken:
    org_id = ctx.auth.org_id
    count = await ctx.db.scalar(select(func.count()).where(Agent.org_id == org_id))
    await check_limit(ctx.db, org_id, Limit.agents, current=count or 0)
    await check_name_free(ctx.db, Agent, org_id=org_id, name=data.name, noun=NOUN, other_than=None)
    token, token_hash, hint = new_token()
    agent = Agent(org_id=org_id, name=data.name, tags=list(dict.fromkeys(data.tags)),
                  token_hash=token_hash, token_hint=hint)  # fmt: skip
    ctx.db.add(agent)
    await flush_named(ctx.db, name=data.name, noun=NOUN)
    await audit.record(
        ctx, action="agent.created", resource_type="agent", resource_id=agent.id,
        detail=repr(agent.name),
    )  # fmt: skip
    return _with_token(agent, token)


async def update_agent(ctx: Context, *, agent_id: int, data: AgentUpdate) -> AgentRead:
    agent = await agent_of(ctx, agent_id)
    given = data.model_dump(exclude_unset=True)
    if "name" in given:
        await check_name_free(
            ctx.db, Agent, org_id=agent.org_id, name=given["name"], noun=NOUN, other_than=agent.id
        )
    if "tags" in given:
        given["tags"] = list(dict.fromkeys(given["tags"]))
    changed = sorted(name for name, value in given.items() if getattr(agent, name) != value)
    for name in changed:
        setattr(agent, name, given[name])
    if changed:
        await flush_named(ctx.db, name=agent.name, noun=NOUN)
        await audit.record(
            ctx, action="agent.updated", resource_type="agent", resource_id=agent.id,
            detail=f"{agent.name!r}: {', '.join(changed)}",
        )  # fmt: skip
    return agent_read(agent)


async def regenerate_token(ctx: Context, *, agent_id: int) -> AgentWithToken:
    """A new token; the old one is refused from this commit on (it is no longer stored)."""
    agent = await agent_of(ctx, agent_id)
    token, agent.token_hash, agent.token_hint = new_token()
    await ctx.db.flush()
    await audit.record(
        ctx, action="agent.token_regenerated", resource_type="agent", resource_id=agent.id,
        detail=repr(agent.name),
    )  # fmt: skip
    return _with_token(agent, token)


async def install_script(ctx: Context, *, agent_id: int, server_url: str) -> str:
    """The shell script that installs the agent on a host, for `server_url`; it takes the
    token at run time (the server keeps only its hash)."""
    agent = await agent_of(ctx, agent_id)
    try:
        return install.render_install_script(
            server_url, agent.id, agent.name, install.agent_version()
        )
    except ValueError as exc:
        raise BadRequest(f"Cannot write an install script for {server_url!r}: {exc}") from exc


async def delete_agent(ctx: Context, *, agent_id: int) -> None:
    """Delete an agent, its metrics and alert states; its unresolved incidents resolve."""
    agent = await agent_of(ctx, agent_id)
    await _resolve_incidents_of(ctx, agent)
    await ctx.db.delete(agent)
    await ctx.db.flush()
    await audit.record(
        ctx, action="agent.deleted", resource_type="agent", resource_id=agent_id,
        detail=repr(agent.name),
    )  # fmt: skip


async def _resolve_incidents_of(ctx: Context, agent: Agent) -> None:
    note = f"agent {agent.name} was deleted"
    await incidents.resolve_trigger(ctx, presence.trigger_of(agent), note=note)
    await live.resolve_incidents_of_states(
        ctx, org_id=agent.org_id, note=note,
        states=select(AlertState.id).where(AlertState.agent_id == agent.id),
    )  # fmt: skip


# Ingest


async def ingest(ctx: Context, *, batch: IngestBatch) -> IngestAccepted:
    """The module's steps."""
    caller = ctx.actor
    assert isinstance(caller, AgentPrincipal), "ingest is called with an agent's context"
    now = utcnow()
    samples = sorted(batch.samples, key=lambda sample: sample.ts)
    if samples[-1].ts > now + MAX_AHEAD:
        raise BadRequest(
            f"body field 'samples': a sample's ts ({samples[-1].ts:%Y-%m-%dT%H:%M:%SZ}) is "
            "more than 10 minutes ahead of the server's clock; check the host's clock (NTP)"
        )
    # Reads first: the write lock is taken at the first write and held to the commit.
    agent = await ctx.db.get(Agent, caller.agent_id)
    if agent is None:  # deleted while its post waited (for its group, say)
        raise Unauthorized(INVALID_TOKEN)
    stored_up_to = storage.epoch(agent.latest_at) if agent.latest_at else None
    times = [storage.epoch(s.ts) for s in samples]
    seen = await blocks.stored_ts(ctx.db, agent.id, times, stored_up_to)
    judging = await live.judging(ctx, agent)
    fresh = _fresh(samples, times, seen)
    newest_ts = times[-1]
    containers_at: dict[int, Sequence[ContainerStats]] = {newest_ts: batch.containers}
    await storage.write(ctx.db, agent.id, fresh, containers_at)
    agent.interval_seconds = batch.interval_seconds
    window = max(MIN_LIVE_WINDOW, timedelta(seconds=3 * batch.interval_seconds))
    latest_at = agent.latest_at
    live_samples = [
        s for s in fresh if now - s.ts <= window and (latest_at is None or s.ts > latest_at)
    ]
    if fresh:
        _move_rollups_back(agent, storage.epoch(fresh[0].ts))
    await presence.seen(ctx, agent, now)
    _take_host_fields(agent, batch)
    newest = fresh[-1] if fresh else None
    if newest is not None and (latest_at is None or newest.ts > latest_at):
        ctx.publish_after_commit(_take_latest(agent, newest), org_id=agent.org_id)
        if storage.epoch(newest.ts) == newest_ts:
            await _replace_containers(ctx.db, agent, batch.containers, newest.ts)
    await live.evaluate(ctx, agent, judging, live_samples, containers_at)
    return IngestAccepted(
        accepted=len(fresh),
        duplicates=len(samples) - len(fresh),
        late=len(fresh) - len(live_samples),
    )


def _fresh(samples: list[Sample], times: list[int], seen: set[int]) -> list[Sample]:
    """The samples whose second is not stored yet, one per second: a batch naming a `ts`
    twice keeps the first."""
    kept: dict[int, Sample] = {}
    for sample, ts in zip(samples, times, strict=True):
        if ts not in seen:
            kept.setdefault(ts, sample)
    return list(kept.values())


def _move_rollups_back(agent: Agent, oldest: int) -> None:
    five = oldest - oldest % FIVE_MINUTES
    hour = oldest - oldest % HOUR
    if agent.rollup_5m_from is None or five < agent.rollup_5m_from:
        agent.rollup_5m_from = five
    if agent.rollup_1h_from is None or hour < agent.rollup_1h_from:
        agent.rollup_1h_from = hour


def _take_host_fields(agent: Agent, batch: IngestBatch) -> None:
    agent.hostname = batch.hostname
    agent.os = batch.os or agent.os
    agent.agent_version = batch.agent_version or agent.agent_version
    if batch.facts is not None:
        facts = batch.facts.model_dump(mode="json", exclude_none=True)
        if facts != agent.facts:
            agent.facts = facts


_CONTAINERS = table_of(AgentContainer)
# Built once, as every post runs it.
_DELETE_CONTAINERS = delete(_CONTAINERS).where(_CONTAINERS.c.agent_id == bindparam("agent_id"))


async def _replace_containers(
    db: AsyncSession, agent: Agent, containers: Sequence[ContainerStats], at: datetime
) -> None:
    """Core statements, not the ORM's: on every post, its bulk delete cost ~1 ms. A host
    that reported none last time and none now (no Docker) has none to delete."""
    by_name = {container.name: container for container in containers}
    if agent.containers or by_name:
        await db.execute(_DELETE_CONTAINERS, {"agent_id": agent.id})
    if by_name:
        rows = [{"agent_id": agent.id, "updated_at": at, **each.model_dump()}
                for each in by_name.values()]  # fmt: skip
        await storage.insert_rows(db, _CONTAINERS, rows)
    agent.containers = len(by_name)


def _take_latest(agent: Agent, sample: Sample) -> AgentMetricsReported:
    """The sample becomes the agent's latest, with its figures; the event that tells it."""
    values = storage.host_values(sample)
    agent.latest = sample.model_dump(mode="json")
    agent.latest_at = sample.ts
    agent.cpu_pct, agent.mem_pct, agent.disk_pct = (
        sample.cpu_pct,
        sample.mem_pct,
        values["disk_pct"],
    )
    return AgentMetricsReported(
        agent_id=agent.id, name=agent.name, ts=sample.ts, cpu_pct=sample.cpu_pct,
        mem_pct=sample.mem_pct, disk_pct=values["disk_pct"], load1=values["load1"],
    )  # fmt: skip

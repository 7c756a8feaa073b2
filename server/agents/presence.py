"""Online and offline: what a post from an agent, or its silence, changes.

1. A post marks its agent seen: `offline_after` moves to three intervals from now. An agent
   not online goes online, with an `agent.status` event; one that was offline has its
   `agent_offline` incident resolved and `agent.online` notified.
2. The watch engine (server/engines/agent_watch.py) calls `go_offline_due`: online agents
   past `offline_after` go offline by a compare-and-set update (a post that lands first
   wins), each with an `agent_offline` incident (its alert rules set the severity and
   channels), an `agent.offline` notification and an `agent.status` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from server.agents.models import Agent
from server.incidents import service as incidents
from server.notifications import outbox
from server.service_context import Context
from shared.api.agents import AgentStatus
from shared.api.events import AgentStatusChanged
from shared.api.incidents import Severity, TriggerType
from shared.api.notifications import EventType

MISSED_INTERVALS = 3
# How many agents one watch step moves offline; more wait for the next step.
BATCH = 200


def trigger_of(agent: Agent) -> incidents.Trigger:
    return incidents.Trigger(agent.org_id, TriggerType.agent_offline, "agent", agent.id)


async def seen(ctx: Context, agent: Agent, now: datetime) -> None:
    """Step 1 of the module."""
    agent.last_seen_at = now
    agent.offline_after = now + timedelta(seconds=MISSED_INTERVALS * (agent.interval_seconds or 60))
    previous = AgentStatus(agent.status)
    if previous is AgentStatus.online:
        return
    agent.status = AgentStatus.online.value
    _announce(ctx, agent, previous)
    if previous is AgentStatus.offline:
        await incidents.resolve_trigger(ctx, trigger_of(agent), note="the agent reports again")
        await outbox.notify(ctx, _occurrence(agent, EventType.agent_online))


async def go_offline_due(ctx: Context, now: datetime) -> int:
    """Step 2 of the module for up to BATCH agents; how many went offline."""
    due = list(
        await ctx.db.scalars(
            select(Agent)
            .where(Agent.status == AgentStatus.online.value, Agent.offline_after < now)
            .order_by(Agent.offline_after)
            .limit(BATCH)
        )
    )
    moved = 0
    for agent in due:
        if not await _compare_and_set_offline(ctx.db, agent, now):
            continue
        moved += 1
        _announce(ctx, agent, AgentStatus.online)
        silent = (
            f"no report since {agent.last_seen_at:%Y-%m-%d %H:%M:%S} UTC"
            if agent.last_seen_at
            else "no report"
        )
        await incidents.open_incident(
            ctx, title=f"Agent {agent.name} is offline", severity=Severity.critical,
            description=f"{agent.name} ({agent.hostname or 'unknown host'}): {silent}",
            trigger=trigger_of(agent),
        )  # fmt: skip
        await outbox.notify(ctx, _occurrence(agent, EventType.agent_offline))
    return moved


async def _compare_and_set_offline(db: AsyncSession, agent: Agent, now: datetime) -> bool:
    result = await db.execute(
        update(Agent)
        .where(
            Agent.id == agent.id,
            Agent.status == AgentStatus.online.value,
            Agent.offline_after < now,
        )
        .values(status=AgentStatus.offline.value)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    # What the UPDATE wrote, as loaded: setting it would make the flush write it again.
    set_committed_value(agent, "status", AgentStatus.offline.value)
    return True


def _announce(ctx: Context, agent: Agent, previous: AgentStatus) -> None:
    changed = AgentStatusChanged(
        agent_id=agent.id, name=agent.name, status=agent.status, previous_status=previous.value
    )
    ctx.publish_after_commit(changed, org_id=agent.org_id)


def _occurrence(agent: Agent, event: EventType) -> outbox.Occurrence:
    offline = event is EventType.agent_offline
    state = "offline" if offline else "back online"
    return outbox.Occurrence(
        org_id=agent.org_id,
        type=event.value,
        severity=(Severity.critical if offline else Severity.info).value,
        title=f"Agent {agent.name} is {state}",
        text=f"{agent.name} ({agent.hostname or 'unknown host'}) is {state}.",
        dedup_key=f"agent-{agent.id}",
        data={"agent": {"id": agent.id, "name": agent.name, "hostname": agent.hostname,
                        "status": agent.status}},
    )  # fmt: skip

"""Backtest: what a metric rule would have done over stored metrics. It sends nothing.

1. The agents: those asked for (each of the caller's org, else a 400), or every agent the
   rule covers. Overrides apply as they do live; one that turns the rule off for an
   agent leaves the agent out.
2. For each agent and each target of the rule's metric (the host, a mount, a container),
   the stored values from `from` to `to` in time order: raw samples where they are kept
   (24 h), 5-minute averages before that.
3. `evaluator.step`, the live evaluation's own function, from a fresh judgement over each
   series. Each open is a would-be incident, with its peak; one still open at `to` has no
   `resolved_at`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.models import Agent
from server.alert_rules.evaluator import Judgement, RuleTerms, Verdict, step
from server.alert_rules.live import HOST, terms_of
from server.alert_rules.models import AlertOverride, AlertRule
from server.alert_rules.service import covers_agent, rule_of
from server.db.owned import ids_of_org
from server.http.errors import BadRequest
from server.metrics import blocks
from server.metrics.models import FIVE_MINUTES, HOST_COLUMNS, SERIES_SCALE
from server.metrics.storage import epoch, from_epoch
from server.service_context import Context
from shared.api.alert_rules import BacktestIncident, BacktestRequest, BacktestResult, Metric
from shared.api.incidents import TriggerType

MAX_RANGE = timedelta(days=400)
Series = dict[str, list[tuple[int, float]]]  # target -> (epoch seconds, value), in order


async def backtest(ctx: Context, *, rule_id: int, data: BacktestRequest) -> BacktestResult:
    rule = await rule_of(ctx, rule_id)
    if rule.trigger_type != TriggerType.infra_metric.value or not rule.metric:
        raise BadRequest(f"Alert rule {rule_id} is not a metric rule (infra_metric)")
    if data.from_ >= data.to or data.to - data.from_ > MAX_RANGE:
        raise BadRequest("body field 'to': must be after 'from', and at most 400 days after")
    agents = await _agents(ctx, rule, data.agent_ids)
    overrides = {
        o.agent_id: o
        for o in await ctx.db.scalars(select(AlertOverride).where(AlertOverride.rule_id == rule.id))
    }
    metric = Metric(rule.metric)
    start, end = epoch(data.from_), epoch(data.to)
    found: list[BacktestIncident] = []
    judged = 0
    for agent in agents:
        override = overrides.get(agent.id)
        if override is not None and not override.enabled:
            continue
        terms = terms_of(rule, override)
        for target, points in (await stored_series(ctx.db, agent.id, metric, start, end)).items():
            judged += len(points)
            found += _replay(terms, agent.id, target, points)
    found.sort(key=lambda incident: (incident.opened_at, incident.agent_id, incident.target))
    return BacktestResult.model_validate(
        {"rule_id": rule.id, "from": data.from_, "to": data.to, "samples": judged,
         "incidents": found}
    )  # fmt: skip


async def _agents(ctx: Context, rule: AlertRule, asked: list[int]) -> list[Agent]:
    org_id = ctx.auth.org_id
    if asked:
        ids = await ids_of_org(
            ctx.db, Agent, org_id=org_id, ids=asked, field="agent_ids", noun="agent"
        )
        return list(await ctx.db.scalars(select(Agent).where(Agent.id.in_(ids)).order_by(Agent.id)))
    every = await ctx.db.scalars(select(Agent).where(Agent.org_id == org_id).order_by(Agent.id))
    return [agent for agent in every if covers_agent(rule.scope, agent.id, agent.tags)]


def _replay(
    terms: RuleTerms, agent_id: int, target: str, points: list[tuple[int, float]]
) -> list[BacktestIncident]:
    """Step 3 of the module over one target's series."""
    judgement = Judgement()
    incidents: list[BacktestIncident] = []
    for ts, value in points:
        at = from_epoch(ts)
        opened_at = judgement.opened_at
        judgement, verdict = step(terms, judgement, at, value)
        if verdict is Verdict.resolve and opened_at is not None:
            incidents.append(_incident(agent_id, target, opened_at, at, judgement.peak))
    if judgement.opened_at is not None:
        incidents.append(_incident(agent_id, target, judgement.opened_at, None, judgement.peak))
    return incidents


def _incident(
    agent_id: int, target: str, opened_at: datetime, resolved_at: datetime | None,
    peak: float | None,
) -> BacktestIncident:  # fmt: skip
    return BacktestIncident(agent_id=agent_id, target=target, opened_at=opened_at,
                            resolved_at=resolved_at, peak_value=peak or 0.0)  # fmt: skip


async def stored_series(
    db: AsyncSession, agent_id: int, metric: Metric, start: int, end: int
) -> Series:
    """Step 2 of the module: the stored values of a metric's targets, as live judged them."""
    if metric.value in HOST_COLUMNS:  # one target, the host, in the wide tables
        column, scale = HOST_COLUMNS[metric.value]
        sources = ((blocks.HOST_RAW, column), (blocks.HOST_FIVES, f"{column}_avg"))
        name = ""
    else:  # a target per label: a mount, a container
        scale = SERIES_SCALE[metric.value]
        sources = ((blocks.SERIES_RAW, "value"), (blocks.SERIES_FIVES, "avg"))
        name = metric.value
    raw, older = [
        await blocks.read(db, source, agent_id, start, end, [column], metric=name)
        for source, column in sources
    ]
    recent: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
    for label, rows in raw.items():  # the host's rows have no label
        recent[label or HOST] = [(ts, value / scale) for ts, value in rows if value is not None]
    before: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
    for target, bucket, value in ((t or HOST, *row) for t, rows in older.items() for row in rows):
        first_raw = recent[target][0][0] if recent[target] else end + 1
        if value is not None and bucket + FIVE_MINUTES <= first_raw:  # raw where it is kept
            before[target].append((bucket, value / scale))
    joined = {target: before[target] + recent[target] for target in recent.keys() | before.keys()}
    return {target: points for target, points in joined.items() if points}

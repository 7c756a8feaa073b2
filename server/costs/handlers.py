"""HTTP handlers for /costs: parse -> call service -> serialize."""

from __future__ import annotations

from server.costs import queries
from server.costs import service as costs
from server.http.routing import Call
from shared.api.costs import (
    AccountCost,
    CostForecast,
    CostSummary,
    CostSyncRead,
    DailyCosts,
    ServiceCost,
)
from shared.api.jobs import JobAccepted


async def summary(call: Call) -> CostSummary:
    """GET /costs/summary"""
    return await queries.summary(
        call.db,
        org_id=call.auth.org_id,
        account_id=call.query.account_id,
        today=queries.today_utc(),
    )


async def by_service(call: Call) -> list[ServiceCost]:
    """GET /costs/by-service"""
    return await queries.by_service(
        call.db, org_id=call.auth.org_id, query=call.query, today=queries.today_utc()
    )


async def by_account(call: Call) -> list[AccountCost]:
    """GET /costs/by-account"""
    return await queries.by_account(
        call.db, org_id=call.auth.org_id, query=call.query, today=queries.today_utc()
    )


async def daily(call: Call) -> DailyCosts:
    """GET /costs/daily"""
    return await queries.daily(
        call.db,
        org_id=call.auth.org_id,
        query=call.query,
        group_by=call.query.group_by,
        today=queries.today_utc(),
    )


async def forecast(call: Call) -> CostForecast:
    """GET /costs/forecast"""
    return await queries.cost_forecast(
        call.db,
        org_id=call.auth.org_id,
        account_id=call.query.account_id,
        days=call.query.days,
        today=queries.today_utc(),
    )


async def request_sync(call: Call) -> JobAccepted:
    """POST /costs/sync"""
    return await costs.request_sync(call.ctx)


async def last_syncs(call: Call) -> list[CostSyncRead]:
    """GET /costs/sync"""
    return await queries.last_syncs(call.db, org_id=call.auth.org_id)

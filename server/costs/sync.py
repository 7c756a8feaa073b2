"""Cost sync: read the daily costs of the previous and the current month from the provider.

A sync job covers every AWS account of an organization (`run_job`); each account is synced
on its own (`sync_account`), so one account's refusal does not cost the others their figures:

1. The window is the first day of the previous month to today, both inclusive. Cost
   Explorer keeps revising recent days (`Estimated` results) and can revise last month
   until its invoice is final, so every sync re-reads both months.
2. A CostSync row is written first (status running, committed), so GET /costs/sync shows
   a sync under way.
3. Payer detection (aws.is_organization_payer, two free calls): an account that
   DescribeOrganization names as the organization's master is a payer, whose Cost Explorer
   shows every member account; its costs are grouped by LINKED_ACCOUNT and SERVICE (the
   member account goes into `linked_account`). Any other account is grouped by SERVICE
   (its own costs are all it can see; `linked_account` is "").
4. GetCostAndUsage (DAILY, UnblendedCost) is called page after page while the answer has a
   NextPageToken; each call is one billed request, counted in `api_calls` ($0.01 each).
5. The window's rows of the account are replaced in one transaction (delete, then insert):
   a day, service or linked account that Cost Explorer no longer returns does not linger,
   and readers never see a half-written window. Amounts become integer micros; the
   `Estimated` flag of each day's result is stored per row. Rows Cost Explorer gives twice
   for one key add up; zero amounts are kept (a day with a zero cost is a day that was read).
6. The CostSync row gets status succeeded (rows, api_calls) in the same transaction, or
   failed with the error in plain words and the calls made so far.
7. `cost.synced` is published per account as it ends. After the last one, budgets are
   evaluated when any account succeeded (budgets.evaluate; its incident events are
   published after that commit), then the job finishes: succeeded when at least one
   account did (or there was none), with the failures' reasons in its detail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.budgets import service as budgets
from server.cloud_accounts.models import CloudAccount
from server.cloud_accounts.service import aws_target
from server.config import Settings
from server.costs.models import MICROS, CostDaily, CostSync
from server.db.base import utcnow
from server.events import EventPublisher
from server.jobs import service as jobs
from server.jobs.models import Job
from server.keys import Keys
from server.providers import aws
from server.service_context import Context
from shared.api.events import CostSynced

log = logging.getLogger("upmetr.costs.sync")

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
# Cost Explorer's dimension values; its daily results are grouped by at most two.
SERVICE = "SERVICE"
LINKED_ACCOUNT = "LINKED_ACCOUNT"
# A runaway NextPageToken loop (a provider bug) must end: two months of daily costs of a
# large organization fit in far fewer pages.
MAX_PAGES = 500


@dataclass(frozen=True)
class CostRow:
    day: date
    service: str
    linked_account: str
    amount_micros: int
    currency: str
    estimated: bool


@dataclass
class SyncOutcome:
    account_id: int
    status: str
    rows: int
    api_calls: int
    detail: str | None = None


def sync_window(today: date) -> tuple[date, date]:
    """First day of the previous month to today, both inclusive."""
    previous_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return previous_month, today


def _micros(amount: Any) -> int:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return 0
    return int((value * MICROS).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def parse_results(answer: dict[str, Any], *, by_linked_account: bool) -> list[CostRow]:
    """The daily rows of one GetCostAndUsage page (grouped by SERVICE, or by LINKED_ACCOUNT
    and SERVICE). Cost Explorer returns amounts as decimal strings with a unit."""
    rows = []
    for result in answer.get("ResultsByTime", []):
        day = date.fromisoformat(result["TimePeriod"]["Start"])
        estimated = bool(result.get("Estimated", False))
        for group in result.get("Groups", []):
            keys = [str(key) for key in group.get("Keys", [])]
            if by_linked_account and len(keys) >= 2:
                linked, service = keys[0], keys[1]
            else:
                linked, service = "", keys[-1] if keys else "Other"
            metric = group.get("Metrics", {}).get(aws.COST_METRIC, {})
            rows.append(
                CostRow(
                    day=day,
                    service=service[:200] or "Other",
                    linked_account=linked[:32],
                    amount_micros=_micros(metric.get("Amount", "0")),
                    currency=str(metric.get("Unit") or "USD")[:3],
                    estimated=estimated,
                )
            )
    return rows


def merge(rows: list[CostRow]) -> list[CostRow]:
    """One row per (day, service, linked account): amounts given twice add up."""
    merged: dict[tuple[date, str, str], CostRow] = {}
    for row in rows:
        key = (row.day, row.service, row.linked_account)
        seen = merged.get(key)
        if seen is None:
            merged[key] = row
        else:
            merged[key] = CostRow(
                row.day, row.service, row.linked_account,
                seen.amount_micros + row.amount_micros, row.currency,
                seen.estimated or row.estimated,
            )  # fmt: skip
    return list(merged.values())


async def read_costs(
    target: aws.AwsTarget, *, start: date, end: date, counter: Callable[[], None]
) -> list[CostRow]:
    """Every daily row of the window from Cost Explorer (steps 3 and 4); `counter` is
    called once per billed request, before it is made."""
    by_linked_account = await aws.is_organization_payer(target)
    group_by = [LINKED_ACCOUNT, SERVICE] if by_linked_account else [SERVICE]
    rows: list[CostRow] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        counter()
        answer = await aws.cost_and_usage_page(
            target,
            start=start.isoformat(),
            end=(end + timedelta(days=1)).isoformat(),  # Cost Explorer's End is exclusive
            group_by=group_by,
            token=token,
        )
        rows.extend(parse_results(answer, by_linked_account=by_linked_account))
        token = answer.get("NextPageToken") or None
        if token is None:
            break
    return merge(rows)


async def replace_window(
    db: AsyncSession, *, account: CloudAccount, start: date, end: date, rows: list[CostRow],
    now: datetime,
) -> None:  # fmt: skip
    """Step 5: the account's rows from start to end become `rows` (caller's transaction)."""
    await db.execute(
        delete(CostDaily).where(
            CostDaily.account_id == account.id, CostDaily.day >= start, CostDaily.day <= end
        )
    )
    # fmt: off
    values = [
        {
            "org_id": account.org_id, "account_id": account.id, "day": row.day,
            "service": row.service, "linked_account": row.linked_account,
            "amount_micros": row.amount_micros, "currency": row.currency,
            "estimated": row.estimated, "updated_at": now,
        }
        for row in rows
        if start <= row.day <= end
    ]
    # fmt: on
    for first in range(0, len(values), 2000):
        await db.execute(insert(CostDaily), values[first : first + 2000])


async def sync_account(
    sessions: async_sessionmaker[AsyncSession],
    *,
    account: CloudAccount,
    target: aws.AwsTarget,
    job_id: int | None,
    now: datetime,
) -> SyncOutcome:
    """Steps 1 to 6 for one account."""
    start, end = sync_window(now.date())
    async with sessions() as db, db.begin():
        record = CostSync(
            org_id=account.org_id, account_id=account.id, job_id=job_id, status=RUNNING,
            start_day=start, end_day=end, started_at=utcnow(),
        )  # fmt: skip
        db.add(record)
        await db.flush()
        sync_id = record.id
    calls = 0

    def count() -> None:
        nonlocal calls
        calls += 1

    outcome = SyncOutcome(account.id, FAILED, 0, 0)
    try:
        rows = await read_costs(target, start=start, end=end, counter=count)
    except aws.AwsError as exc:
        outcome.detail = f"Cost Explorer: {exc}"
    else:
        outcome.status, outcome.rows = SUCCEEDED, len(rows)
    outcome.api_calls = calls
    async with sessions() as db, db.begin():
        if outcome.status == SUCCEEDED:
            await replace_window(db, account=account, start=start, end=end, rows=rows, now=now)
        record = await db.get_one(CostSync, sync_id)
        record.status = outcome.status
        record.rows = outcome.rows
        record.api_calls = outcome.api_calls
        record.detail = outcome.detail[:2000] if outcome.detail else None
        # The clock now, not `now`: the job's clock for the window, read before the calls.
        record.finished_at = utcnow()
    return outcome


def event_data(outcome: SyncOutcome, job_id: int | None) -> CostSynced:
    """The `cost.synced` live event of one account's sync."""
    return CostSynced(
        account_id=outcome.account_id,
        job_id=job_id,
        rows=outcome.rows,
        api_calls=outcome.api_calls,
        status=outcome.status,
    )


async def _aws_accounts(db: AsyncSession, org_id: int) -> list[CloudAccount]:
    found = await db.scalars(
        select(CloudAccount)
        .where(CloudAccount.org_id == org_id, CloudAccount.provider == "aws")
        .order_by(CloudAccount.id)
    )
    return list(found)


async def run_job(
    sessions: async_sessionmaker[AsyncSession],
    events: EventPublisher,
    settings: Settings,
    keys: Keys,
    job: Job,
    *,
    clock: Callable[[], datetime],
) -> Job:
    """Sync every AWS account of the job's organization (steps 1 to 7); the finished job."""
    async with sessions() as db:
        accounts = await _aws_accounts(db, job.org_id)
        db.expunge_all()
    outcomes: list[SyncOutcome] = []
    for index, account in enumerate(accounts):
        async with sessions() as db, db.begin():
            running = await jobs.progress(
                db, job_id=job.id,
                values={"done": index, "total": len(accounts), "step": account.name},
            )  # fmt: skip
        jobs.publish(events, running)
        try:
            target = aws_target(settings, keys, account)
        except Exception as exc:  # undecryptable credentials: this account only
            log.exception("cost sync: credentials of account %s unreadable", account.id)
            outcomes.append(SyncOutcome(account.id, FAILED, 0, 0, f"credentials: {exc}"))
            continue
        outcome = await sync_account(
            sessions, account=account, target=target, job_id=job.id, now=clock()
        )
        outcomes.append(outcome)
        events.publish(job.org_id, event_data(outcome, job.id))

    succeeded = [o for o in outcomes if o.status == SUCCEEDED]
    failed = [o for o in outcomes if o.status != SUCCEEDED]
    result = {
        "accounts": len(outcomes),
        "succeeded": len(succeeded),
        "failed": len(failed),
        "rows": sum(o.rows for o in outcomes),
        "api_calls": sum(o.api_calls for o in outcomes),
    }
    detail = "; ".join(f"account {o.account_id}: {o.detail}" for o in failed) or None
    if succeeded:  # before the job ends: a finished job has had its budgets evaluated
        try:
            async with sessions() as db, db.begin():
                ctx = Context(db=db)  # the system's; its outbox goes out below
                await budgets.evaluate(ctx, org_id=job.org_id, now=clock())
            for org_id, change in ctx.events:
                events.publish(org_id, change)
        except Exception:  # the costs are stored; the next sync evaluates again
            log.exception("budget evaluation after the cost sync of org %s failed", job.org_id)
    async with sessions() as db, db.begin():
        await jobs.progress(db, job_id=job.id, values={"done": len(accounts), "step": None})
        finished = await jobs.finish(
            db, job_id=job.id, succeeded=bool(succeeded) or not outcomes,
            result=result, detail=detail, now=clock(),
        )  # fmt: skip
    jobs.publish(events, finished)
    return finished

"""Reading the audit log of one organization: the filters shared by the list and the export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.db import paging
from server.orgs.models import Membership
from shared.api.audit import AuditFilter, AuditLogRead, AuditQuery, AuditSummary
from shared.api.common import Page

LOGIN = "auth.login"
EXPORT_BATCH = 500
# Ids are 64-bit signed integers in the database; SQLite's driver cannot even bind a larger
# Python int (OverflowError), and no entry can have such an id anyway.
_MAX_ID = 2**63 - 1

# The columns a reader sees; org_id selects the tenant and is never shown.
_READ_COLUMNS = (
    AuditLog.id,
    AuditLog.user_id,
    AuditLog.user_email,
    AuditLog.action,
    AuditLog.resource_type,
    AuditLog.resource_id,
    AuditLog.ip,
    AuditLog.user_agent,
    AuditLog.status,
    AuditLog.detail,
    AuditLog.created_at,
)


def _utc(value: datetime) -> datetime:
    """A time given without a zone is read as UTC (the contract's only zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def scope(org_id: int) -> ColumnElement[bool]:
    """The entries an organization sees: its own, and account-level ones of its members.

    A failed sign-in happens before any organization is chosen, so it is recorded with no
    org; it still belongs in the log (and the failed-login count) of the member's orgs.
    """
    members = select(Membership.user_id).where(Membership.org_id == org_id)
    return or_(
        AuditLog.org_id == org_id,
        and_(AuditLog.org_id.is_(None), AuditLog.user_id.in_(members)),
    )


def conditions(org_id: int, query: AuditFilter) -> list[ColumnElement[bool]]:
    """WHERE clauses for one organization and the filters of a list or export query."""
    where: list[ColumnElement[bool]] = [scope(org_id)]
    if query.action is not None:
        where.append(AuditLog.action == query.action)
    if query.status is not None:
        where.append(AuditLog.status == query.status)
    if query.user_id is not None:
        where.append(AuditLog.user_id == query.user_id if query.user_id <= _MAX_ID else false())
    if query.resource_type is not None:
        where.append(AuditLog.resource_type == query.resource_type)
    if query.from_ is not None:
        where.append(AuditLog.created_at >= _utc(query.from_))
    if query.to is not None:
        where.append(AuditLog.created_at <= _utc(query.to))
    return where


async def page(db: AsyncSession, org_id: int, query: AuditQuery) -> Page[AuditLogRead]:
    """One page of entries, newest first, and the number of entries matching in all."""
    statement = (
        select(*_READ_COLUMNS)
        .where(*conditions(org_id, query))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    )
    return await paging.page_of_rows(
        db, statement, query, Page[AuditLogRead], AuditLogRead.model_validate
    )


async def batches(
    db: AsyncSession, org_id: int, query: AuditFilter, *, size: int = EXPORT_BATCH
) -> AsyncIterator[list[AuditLogRead]]:
    """Matching entries newest first, `size` at a time, by keyset on the id.

    Keyset pagination (id < last id seen) keeps every batch an index range scan however deep
    the export goes, and only one batch is ever held in memory. Plain rows, not ORM objects,
    so nothing piles up in the session's identity map.
    """
    where = conditions(org_id, query)
    last_id: int | None = None
    while True:
        statement = select(*_READ_COLUMNS).where(*where)
        if last_id is not None:
            statement = statement.where(AuditLog.id < last_id)
        rows = (await db.execute(statement.order_by(AuditLog.id.desc()).limit(size))).all()
        if rows:
            yield [AuditLogRead.model_validate(row) for row in rows]
        if len(rows) < size:
            return
        last_id = rows[-1].id


async def one(db: AsyncSession, org_id: int, entry_id: int) -> AuditLogRead | None:
    row = (
        await db.execute(select(*_READ_COLUMNS).where(AuditLog.id == entry_id, scope(org_id)))
    ).one_or_none()
    return AuditLogRead.model_validate(row) if row is not None else None


async def summary(db: AsyncSession, org_id: int, *, now: datetime | None = None) -> AuditSummary:
    """Counts for the dashboard in one query: all entries, today's (UTC), logins of 24 h."""
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day_ago = now - timedelta(hours=24)
    login_24h = and_(AuditLog.action == LOGIN, AuditLog.created_at >= day_ago)
    row = (
        await db.execute(
            select(
                func.count(),
                func.count().filter(AuditLog.created_at >= midnight),
                func.count().filter(login_24h),
                func.count().filter(login_24h, AuditLog.status == "failed"),
            ).where(scope(org_id))
        )
    ).one()
    return AuditSummary(total=row[0], today=row[1], logins_24h=row[2], failed_logins_24h=row[3])

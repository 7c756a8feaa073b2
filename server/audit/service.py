"""Recording audit entries. Entries are only ever inserted (append-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.http.routing import Call


def _entry(
    call: Call,
    *,
    action: str,
    status: str,
    resource_type: str | None,
    resource_id: object | None,
    detail: str | None,
    org_id: int | None,
    user_id: int | None,
    user_email: str | None,
) -> dict[str, Any]:
    principal = call.principal
    return {
        "org_id": org_id if org_id is not None else (principal.org_id if principal else None),
        "user_id": user_id if user_id is not None else (principal.user_id if principal else None),
        "user_email": user_email or (principal.email if principal else None),
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id) if resource_id is not None else None,
        "ip": call.ip,
        "user_agent": call.user_agent,
        "status": status,
        "detail": detail[:2000] if detail else None,
    }


async def record(
    call: Call,
    *,
    action: str,
    resource_type: str | None = None,
    resource_id: object | None = None,
    detail: str | None = None,
    org_id: int | None = None,
    user_id: int | None = None,
    user_email: str | None = None,
) -> None:
    """A successful action, written in the request's transaction so it commits with it."""
    entry = _entry(
        call,
        action=action,
        status="success",
        resource_type=resource_type,
        resource_id=resource_id,
        detail=detail,
        org_id=org_id,
        user_id=user_id,
        user_email=user_email,
    )
    await write(call.db, [entry])


def record_failure(
    call: Call,
    *,
    action: str,
    resource_type: str | None = None,
    resource_id: object | None = None,
    detail: str | None = None,
    org_id: int | None = None,
    user_id: int | None = None,
    user_email: str | None = None,
) -> None:
    """A failed attempt: kept aside and written after the request's rollback."""
    call.failed_audits.append(
        _entry(
            call,
            action=action,
            status="failed",
            resource_type=resource_type,
            resource_id=resource_id,
            detail=detail,
            org_id=org_id,
            user_id=user_id,
            user_email=user_email,
        )
    )


async def write(db: AsyncSession, entries: list[dict[str, Any]]) -> None:
    if entries:
        await db.execute(insert(AuditLog), entries)

"""Recording audit entries. Entries are only ever inserted (append-only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack

from server.service_context import Context, write_audit


@dataclass(frozen=True)
class AuditRecord:
    """What happened; who and from where come from the request unless given here."""

    action: str
    resource_type: str | None = None
    resource_id: object | None = None
    detail: str | None = None
    org_id: int | None = None
    user_id: int | None = None
    user_email: str | None = None

    def entry(self, ctx: Context, status: str) -> dict[str, Any]:
        principal = ctx.principal
        return {
            "org_id": self.org_id if self.org_id is not None else _of(principal, "org_id"),
            "user_id": self.user_id if self.user_id is not None else _of(principal, "user_id"),
            "user_email": self.user_email or _of(principal or ctx.actor, "email"),
            "action": self.action,
            "resource_type": self.resource_type,
            "resource_id": str(self.resource_id) if self.resource_id is not None else None,
            "ip": ctx.ip,
            "user_agent": ctx.user_agent,
            "status": status,
            "detail": self.detail[:2000] if self.detail else None,
        }


class EventFields(TypedDict, total=False):
    """The keyword arguments of `record` and `record_failure`, checked by mypy."""

    action: Required[str]
    resource_type: str | None
    resource_id: object | None
    detail: str | None
    org_id: int | None
    user_id: int | None
    user_email: str | None


def _of(principal: object | None, name: str) -> Any:
    return getattr(principal, name, None)


async def record(ctx: Context, **event: Unpack[EventFields]) -> None:
    """A successful action, written in the request's transaction so it commits with it."""
    await write_audit(ctx.db, [AuditRecord(**event).entry(ctx, "success")])


def record_failure(ctx: Context, **event: Unpack[EventFields]) -> None:
    """A failed attempt: kept aside and written even when the request then rolls back."""
    ctx.failed_audits.append(AuditRecord(**event).entry(ctx, "failed"))

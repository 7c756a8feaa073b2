"""Subscribers of a status page: double opt-in by email, one-click unsubscribe.

1. `subscribe` stores the address as pending (or finds it) and mails a confirmation link;
   the answer is the same whether the address was new, pending or confirmed, so the form
   tells nobody who is subscribed.
2. The link is signed for the row's nonce (`confirm_token`); following it shows a button,
   and posting that confirms (mail scanners follow links; they do not post forms).
3. Every mail to a subscriber carries an unsubscribe link signed the same way, with RFC
   8058's `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, so a mail client can
   unsubscribe with one POST. Unsubscribing deletes the row; subscribing again makes a new
   nonce, so the old mails' links no longer act on it.
4. Confirmed subscribers of enabled pages hear, through the notifications outbox, of
   incidents opened and resolved on the pages' monitors and of the pages' announcements.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.auth.tokens import decode_jwt, issue_jwt
from server.db import paging
from server.db.base import utcnow
from server.db.owned import one_of_org
from server.http.errors import Unauthorized
from server.orgs.models import Organization
from server.providers.email import Email
from server.service_context import Context
from server.status_pages.models import StatusPage, StatusPageMonitor, StatusSubscriber
from shared.api.common import Page
from shared.api.status_pages import SubscribeAccepted, SubscriberQuery, SubscriberRead

CONFIRM = "status-subscribe"
UNSUBSCRIBE = "status-unsubscribe"
CONFIRM_TTL = timedelta(days=7)
# An unsubscribe link works as long as its mail may be read; the nonce ends it sooner.
UNSUBSCRIBE_TTL = timedelta(days=3650)
ACCEPTED = "Check your inbox: the subscription starts when you confirm it from the email."
TOLD_OF = frozenset({"incident.opened", "incident.resolved"})


@dataclass(frozen=True)
class Recipient:
    subscriber_id: int
    email: str


def _token(ctx: Context, subscriber: StatusSubscriber, purpose: str, ttl: timedelta) -> str:
    return issue_jwt(
        ctx.keys.jwt_secret, subject=subscriber.id, purpose=purpose, ttl=ttl, n=subscriber.nonce
    )


def unsubscribe_url(base_url: str, secret: str, subscriber_id: int, nonce: str) -> str:
    token = issue_jwt(
        secret, subject=subscriber_id, purpose=UNSUBSCRIBE, ttl=UNSUBSCRIBE_TTL, n=nonce
    )
    return f"{base_url}/status-subscription/unsubscribe?token={token}"


async def subscribe(
    ctx: Context, *, page: StatusPage, email: str, page_url: str
) -> SubscribeAccepted:
    email = email.lower()
    subscriber = await ctx.db.scalar(
        select(StatusSubscriber).where(
            StatusSubscriber.page_id == page.id, StatusSubscriber.email == email
        )
    )
    if subscriber is None:
        subscriber = StatusSubscriber(org_id=page.org_id, page_id=page.id, email=email,
                                      nonce=secrets.token_hex(16))  # fmt: skip
        ctx.db.add(subscriber)
        await ctx.db.flush()
        await audit.record(
            ctx, action="status_page.subscribe_requested", resource_type="status_page",
            resource_id=page.id, org_id=page.org_id, detail=email,
        )  # fmt: skip
    if subscriber.confirmed_at is None:
        link = (
            f"{ctx.settings.resolved_public_url}/status-subscription/confirm"
            f"?token={_token(ctx, subscriber, CONFIRM, CONFIRM_TTL)}"
        )
        ctx.send_email(
            Email(
                to=email,
                subject=f"Confirm your subscription to {page.title}",
                text=(
                    f"Someone asked to email {email} about incidents and announcements on\n"
                    f"{page_url}\n\nConfirm it here (valid for 7 days):\n{link}\n\n"
                    "If it was not you, ignore this email: nothing will be sent.\n"
                ),
            )
        )
    return SubscribeAccepted(detail=ACCEPTED)


async def _subscriber_of(ctx: Context, token: str, purpose: str) -> StatusSubscriber:
    claims = decode_jwt(ctx.keys.jwt_secret, token, purpose=purpose)
    subscriber = await ctx.db.get(StatusSubscriber, int(claims["sub"]))
    if subscriber is None or subscriber.nonce != claims.get("n"):
        raise Unauthorized("This link is no longer valid")
    return subscriber


async def confirm(ctx: Context, *, token: str) -> StatusSubscriber:
    subscriber = await _subscriber_of(ctx, token, CONFIRM)
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = utcnow()
        await ctx.db.flush()
        await audit.record(
            ctx, action="status_page.subscribed", resource_type="status_page",
            resource_id=subscriber.page_id, org_id=subscriber.org_id, detail=subscriber.email,
        )  # fmt: skip
    return subscriber


async def unsubscribe(ctx: Context, *, token: str) -> str:
    """Delete the subscriber the link is for; its address. A link used twice is a 401."""
    subscriber = await _subscriber_of(ctx, token, UNSUBSCRIBE)
    await ctx.db.delete(subscriber)
    await ctx.db.flush()
    await audit.record(
        ctx, action="status_page.unsubscribed", resource_type="status_page",
        resource_id=subscriber.page_id, org_id=subscriber.org_id, detail=subscriber.email,
    )  # fmt: skip
    return subscriber.email


def _read(subscriber: StatusSubscriber, page: StatusPage) -> SubscriberRead:
    return SubscriberRead(
        id=subscriber.id, email=subscriber.email, page=page.slug, page_id=page.id,
        confirmed_at=subscriber.confirmed_at, created_at=subscriber.created_at,
    )  # fmt: skip


async def list_subscribers(
    ctx: Context, *, query: SubscriberQuery, page: StatusPage | None
) -> Page[SubscriberRead]:
    """Confirmed subscribers, by address; or, asked for, the pending ones (who have not said
    yes yet, and are emailed nothing but the confirmation)."""
    confirmed = StatusSubscriber.confirmed_at
    statement: Any = (
        select(StatusSubscriber, StatusPage)
        .join(StatusPage, StatusPage.id == StatusSubscriber.page_id)
        .where(
            StatusSubscriber.org_id == ctx.auth.org_id,
            confirmed.is_(None) if query.pending else confirmed.is_not(None),
        )
        .order_by(StatusSubscriber.email, StatusSubscriber.id)
    )
    if page is not None:
        statement = statement.where(StatusSubscriber.page_id == page.id)
    total = await paging.count_of(ctx.db, statement)
    rows = await ctx.db.execute(paging.window(statement, query))
    items = [_read(subscriber, of_page) for subscriber, of_page in rows]
    return paging.paged(Page[SubscriberRead], items, total, query)


async def remove_subscriber(ctx: Context, *, subscriber_id: int) -> None:
    subscriber = await one_of_org(
        ctx.db, StatusSubscriber, org_id=ctx.auth.org_id, id=subscriber_id, noun="Subscriber"
    )
    await ctx.db.delete(subscriber)
    await ctx.db.flush()
    await audit.record(
        ctx, action="status_page.subscriber_removed", resource_type="status_page",
        resource_id=subscriber.page_id, detail=subscriber.email,
    )  # fmt: skip


def _once_per_address(rows: Any) -> list[Recipient]:
    seen: dict[str, Recipient] = {}
    for subscriber_id, email in rows:
        seen.setdefault(email, Recipient(subscriber_id, email))
    return list(seen.values())


def _confirmed_on_enabled_pages() -> Any:
    return (
        select(StatusSubscriber.id, StatusSubscriber.email)
        .join(StatusPage, StatusPage.id == StatusSubscriber.page_id)
        .join(Organization, Organization.id == StatusPage.org_id)
        .where(
            StatusSubscriber.confirmed_at.is_not(None),
            StatusPage.enabled.is_(True),
            Organization.status == "active",
        )
        .order_by(StatusSubscriber.id)
    )


async def of_incident(db: AsyncSession, event_type: str, data: dict[str, Any]) -> list[Recipient]:
    """Who hears of an incident event: the confirmed subscribers of the enabled pages that
    show its monitor, once per address (opened and resolved only)."""
    incident = data.get("incident") or {}
    if event_type not in TOLD_OF or incident.get("target_type") != "monitor":
        return []
    rows = await db.execute(
        _confirmed_on_enabled_pages()
        .join(StatusPageMonitor, StatusPageMonitor.page_id == StatusPage.id)
        .where(StatusPageMonitor.monitor_id == incident.get("target_id"))
    )
    return _once_per_address(rows)


async def of_page(db: AsyncSession, page_id: int) -> list[Recipient]:
    rows = await db.execute(_confirmed_on_enabled_pages().where(StatusPage.id == page_id))
    return _once_per_address(rows)

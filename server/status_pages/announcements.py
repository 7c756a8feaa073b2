"""Announcements: public notes on a page, moved through investigating, identified,
monitoring and resolved. Each change of state or note is kept as a step, shown in order,
and the page's subscribers hear of the new note and of every step."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, select

from server.audit import service as audit
from server.db import paging
from server.db.base import utcnow
from server.db.owned import one_of_org
from server.notifications import outbox
from server.service_context import Context
from server.status_pages import service as pages
from server.status_pages import subscribers
from server.status_pages.models import Announcement, AnnouncementStep, StatusPage
from shared.api.common import Page
from shared.api.status_pages import (
    AnnouncementCreate,
    AnnouncementQuery,
    AnnouncementRead,
    AnnouncementState,
    AnnouncementUpdate,
)
from shared.api.status_pages import AnnouncementStep as StepRead

NOUN = "Announcement"
RESOLVED = AnnouncementState.resolved.value
EVENT = "status.announcement"


async def reads_of(
    ctx: Context, rows: Sequence[tuple[Announcement, StatusPage]]
) -> list[AnnouncementRead]:
    """The announcements as read, with their steps (one query for all of them)."""
    steps: dict[int, list[StepRead]] = defaultdict(list)
    ids = [announcement.id for announcement, _ in rows]
    if ids:
        for step in await ctx.db.scalars(
            select(AnnouncementStep)
            .where(AnnouncementStep.announcement_id.in_(ids))
            .order_by(AnnouncementStep.id)
        ):
            steps[step.announcement_id].append(
                StepRead(
                    state=AnnouncementState(step.state), body=step.body, created_at=step.created_at
                )
            )
    return [
        AnnouncementRead(
            id=announcement.id,
            page=page.slug,
            page_id=page.id,
            title=announcement.title,
            body=announcement.body,
            state=AnnouncementState(announcement.state),
            updates=steps[announcement.id],
            created_at=announcement.created_at,
            updated_at=announcement.updated_at,
            resolved_at=announcement.resolved_at,
        )
        for announcement, page in rows
    ]


def _with_page() -> Select[Announcement, StatusPage]:
    return select(Announcement, StatusPage).join(StatusPage, StatusPage.id == Announcement.page_id)


async def list_announcements(ctx: Context, *, query: AnnouncementQuery) -> Page[AnnouncementRead]:
    statement = _with_page().where(Announcement.org_id == ctx.auth.org_id)
    if query.status_page is not None:
        statement = statement.where(StatusPage.slug == query.status_page)
    if query.state is not None:
        statement = statement.where(Announcement.state == query.state.value)
    statement = statement.order_by(Announcement.created_at.desc(), Announcement.id.desc())
    total = await paging.count_of(ctx.db, statement)
    found = await ctx.db.execute(paging.window(statement, query))
    rows = [(announcement, page) for announcement, page in found]
    return paging.paged(Page[AnnouncementRead], await reads_of(ctx, rows), total, query)


async def _one(ctx: Context, announcement_id: int) -> tuple[Announcement, StatusPage]:
    announcement = await one_of_org(
        ctx.db, Announcement, org_id=ctx.auth.org_id, id=announcement_id, noun=NOUN
    )
    page = await ctx.db.get_one(StatusPage, announcement.page_id)
    return announcement, page


async def _read(ctx: Context, announcement: Announcement, page: StatusPage) -> AnnouncementRead:
    return (await reads_of(ctx, [(announcement, page)]))[0]


async def get_announcement(ctx: Context, *, announcement_id: int) -> AnnouncementRead:
    return await _read(ctx, *await _one(ctx, announcement_id))


async def create_announcement(ctx: Context, *, data: AnnouncementCreate) -> AnnouncementRead:
    page = await pages.page_named(ctx, data.page)
    now = utcnow()
    announcement = Announcement(
        org_id=page.org_id, page_id=page.id, title=data.title, body=data.body,
        state=data.state.value, created_at=now, updated_at=now,
        resolved_at=now if data.state.value == RESOLVED else None,
    )  # fmt: skip
    ctx.db.add(announcement)
    await ctx.db.flush()
    ctx.db.add(AnnouncementStep(announcement_id=announcement.id, state=data.state.value,
                                body=data.body, created_at=now))  # fmt: skip
    await ctx.db.flush()
    await _tell(ctx, announcement, page, data.body)
    await _audit(ctx, "status_page.announcement_created", announcement, page, data.state.value)
    return await _read(ctx, announcement, page)


async def update_announcement(
    ctx: Context, *, announcement_id: int, data: AnnouncementUpdate
) -> AnnouncementRead:
    """A new title changes the title only; a new state or note adds a step and is told."""
    announcement, page = await _one(ctx, announcement_id)
    given = data.model_dump(exclude_unset=True)
    if "title" in given:
        announcement.title = given["title"]
    state = given.get("state", AnnouncementState(announcement.state)).value
    stepped = state != announcement.state or "body" in given
    if stepped:
        body = given.get("body") or f"The state is now {state}."
        announcement.state, announcement.body = state, given.get("body", announcement.body)
        resolved = state == RESOLVED
        announcement.resolved_at = (announcement.resolved_at or utcnow()) if resolved else None
        ctx.db.add(AnnouncementStep(announcement_id=announcement.id, state=state, body=body))
    announcement.updated_at = utcnow()
    await ctx.db.flush()
    if stepped:
        await _tell(ctx, announcement, page, body)
    changed = ", ".join(sorted(given))
    await _audit(ctx, "status_page.announcement_updated", announcement, page, changed)
    return await _read(ctx, announcement, page)


async def delete_announcement(ctx: Context, *, announcement_id: int) -> None:
    announcement, page = await _one(ctx, announcement_id)
    await ctx.db.delete(announcement)
    await ctx.db.flush()
    await _audit(ctx, "status_page.announcement_deleted", announcement, page, None)


async def _tell(ctx: Context, announcement: Announcement, page: StatusPage, body: str) -> None:
    """The page's subscribers hear of it, through the outbox."""
    recipients = await subscribers.of_page(ctx.db, page.id)
    state = announcement.state
    occurrence = outbox.Occurrence(
        org_id=page.org_id, type=EVENT, severity="info" if state == RESOLVED else "warning",
        title=f"[{state.capitalize()}] {announcement.title}", text=body,
        dedup_key=f"announcement-{announcement.id}",
        data={"announcement": {"id": announcement.id, "state": state, "page": page.slug}},
    )  # fmt: skip
    await outbox.tell_subscribers(ctx, occurrence, recipients)


async def _audit(
    ctx: Context, action: str, announcement: Announcement, page: StatusPage, detail: str | None
) -> None:
    pages.tell_changed(ctx, page, "announcement")
    await audit.record(
        ctx, action=action, resource_type="status_announcement", resource_id=announcement.id,
        detail=f"{announcement.title!r}" + (f": {detail}" if detail else ""),
    )  # fmt: skip

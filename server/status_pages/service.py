"""Status pages as members manage them: the global page, client pages, their tokens.

The global page is a row like a client page (kind "global", slug "global"), made when the
organization first reads or sets it, disabled until an admin turns it on. A page's token
is stored as a hash and answered once: when `require_token` is turned on for a page without
one, and when it is regenerated (the old one stops at once: it is no longer stored).
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.auth.tokens import hash_secret, masked, new_secret
from server.db import paging
from server.db.owned import ids_of_org, one_of_org
from server.http.errors import BadRequest, Conflict, NotFound
from server.monitors.models import Monitor
from server.orgs.models import Organization
from server.service_context import Context
from server.status_pages import history
from server.status_pages.models import StatusPage, StatusPageMonitor, StatusSubscriber
from shared.api.common import Page, PageQuery
from shared.api.status_pages import (
    GLOBAL_PAGE,
    RESERVED_SLUGS,
    ClientPageCreate,
    ClientPageUpdate,
    HistoryGenerated,
    PageRead,
    PageSettings,
    PageWithToken,
    slug_of,
)

NOUN = "Status page"
GLOBAL = "global"
CLIENT = "client"
TOKEN_PREFIX = "ups_"
SETTINGS = tuple(name for name in PageSettings.model_fields if name != "monitor_ids")


def page_path(org_slug: str, page: StatusPage) -> str:
    """The public HTML page's path."""
    if page.kind == GLOBAL:
        return f"/status/{org_slug}"
    return f"/status/{org_slug}/{page.slug}"


async def _reads(ctx: Context, pages: list[StatusPage]) -> list[PageRead]:
    """The pages as read: with their monitors in order, their confirmed subscribers and URL."""
    ids = [page.id for page in pages]
    monitors: dict[int, list[int]] = {page_id: [] for page_id in ids}
    subscribers: dict[int, int] = {}
    if ids:
        rows = await ctx.db.execute(
            select(StatusPageMonitor.page_id, StatusPageMonitor.monitor_id)
            .where(StatusPageMonitor.page_id.in_(ids))
            .order_by(StatusPageMonitor.page_id, StatusPageMonitor.position)
        )
        for page_id, monitor_id in rows:
            monitors[page_id].append(monitor_id)
        counted = await ctx.db.execute(
            select(StatusSubscriber.page_id, func.count())
            .where(StatusSubscriber.page_id.in_(ids), StatusSubscriber.confirmed_at.is_not(None))
            .group_by(StatusSubscriber.page_id)
        )
        subscribers = {page_id: count for page_id, count in counted}
    org_slug = await _org_slug(ctx.db, ctx.auth.org_id)
    base = ctx.settings.resolved_public_url
    return [
        _page_read(
            page, monitors[page.id], subscribers.get(page.id, 0), base + page_path(org_slug, page)
        )
        for page in pages
    ]


def _page_read(page: StatusPage, monitor_ids: list[int], subscribers: int, url: str) -> PageRead:
    return PageRead(
        id=page.id, kind=page.kind, name=page.name,
        slug=page.slug if page.kind == CLIENT else None,
        enabled=page.enabled, title=page.title, company_name=page.company_name,
        logo_url=page.logo_url, history_days=page.history_days,
        show_response_times=page.show_response_times, show_uptime=page.show_uptime,
        monitor_ids=monitor_ids, require_token=page.require_token,
        token_hint=page.token_hint, url=url, subscribers=subscribers,
        created_at=page.created_at, updated_at=page.updated_at,
    )  # fmt: skip


async def _read(ctx: Context, page: StatusPage, token: str | None = None) -> PageWithToken:
    [read] = await _reads(ctx, [page])
    return PageWithToken(**read.model_dump(), token=token)


async def _org_slug(db: AsyncSession, org_id: int) -> str:
    return (await db.scalar(select(Organization.slug).where(Organization.id == org_id))) or ""


async def global_page(ctx: Context) -> StatusPage:
    """The organization's global page, made (disabled) when first asked for."""
    org_id = ctx.auth.org_id
    page = await ctx.db.scalar(
        select(StatusPage).where(StatusPage.org_id == org_id, StatusPage.slug == GLOBAL_PAGE)
    )
    if page is None:
        page = StatusPage(org_id=org_id, kind=GLOBAL, name="Global", slug=GLOBAL_PAGE,
                          enabled=False)  # fmt: skip
        ctx.db.add(page)
        await ctx.db.flush()
    return page


async def client_page(ctx: Context, page_id: int) -> StatusPage:
    page = await one_of_org(ctx.db, StatusPage, org_id=ctx.auth.org_id, id=page_id, noun=NOUN)
    if page.kind != CLIENT:  # the global page has its own paths
        raise NotFound(f"{NOUN} not found")
    return page


async def page_named(ctx: Context, name: str) -> StatusPage:
    """A page by the name the API gives it: "global" or a client page's slug (400 if none)."""
    if name == GLOBAL_PAGE:
        return await global_page(ctx)
    page = await ctx.db.scalar(
        select(StatusPage).where(
            StatusPage.org_id == ctx.auth.org_id,
            StatusPage.slug == name,
            StatusPage.kind == CLIENT,
        )
    )
    if page is None:
        raise BadRequest(f"body field 'page': no status page {name!r} in this organization")
    return page


async def get_global(ctx: Context) -> PageRead:
    return (await _reads(ctx, [await global_page(ctx)]))[0]


async def put_global(ctx: Context, *, data: PageSettings) -> PageWithToken:
    page = await global_page(ctx)
    changed = await _apply(ctx, page, data.model_dump())
    token = _token_if_needed(page)
    await ctx.db.flush()
    await _audit(ctx, "status_page.updated", page, changed)
    return await _read(ctx, page, token)


async def _apply(ctx: Context, page: StatusPage, given: dict[str, object]) -> list[str]:
    """Set the given settings (and monitors) on `page`; the names of those that changed."""
    changed = sorted(
        name for name in SETTINGS if name in given and getattr(page, name) != given[name]
    )
    for name in changed:
        setattr(page, name, given[name])
    if "monitor_ids" in given:
        wanted = await ids_of_org(
            ctx.db, Monitor, org_id=page.org_id, ids=given["monitor_ids"],  # type: ignore[arg-type]
            field="monitor_ids", noun="monitor",
        )  # fmt: skip
        if await _set_monitors(ctx.db, page, wanted):
            changed.append("monitor_ids")
    return changed


async def _set_monitors(db: AsyncSession, page: StatusPage, monitor_ids: list[int]) -> bool:
    """Replace the page's monitors with `monitor_ids`, in order; whether they changed."""
    current = list(
        await db.scalars(
            select(StatusPageMonitor.monitor_id)
            .where(StatusPageMonitor.page_id == page.id)
            .order_by(StatusPageMonitor.position)
        )
    )
    if current == monitor_ids:
        return False
    await db.execute(delete(StatusPageMonitor).where(StatusPageMonitor.page_id == page.id))
    if monitor_ids:
        await db.execute(
            insert(StatusPageMonitor),
            [
                {"page_id": page.id, "monitor_id": monitor_id, "position": position}
                for position, monitor_id in enumerate(monitor_ids)
            ],
        )
    return True


def _token_if_needed(page: StatusPage) -> str | None:
    """A token for a page that requires one and has none yet; None otherwise."""
    if page.require_token and page.token_hash is None:
        return _new_token(page)
    return None


def _new_token(page: StatusPage) -> str:
    token = new_secret(TOKEN_PREFIX)
    page.token_hash, page.token_hint = hash_secret(token), masked(token[-4:])
    return token


async def regenerate_global_token(ctx: Context) -> PageWithToken:
    return await _regenerate(ctx, await global_page(ctx))


async def regenerate_client_token(ctx: Context, *, page_id: int) -> PageWithToken:
    return await _regenerate(ctx, await client_page(ctx, page_id))


async def _regenerate(ctx: Context, page: StatusPage) -> PageWithToken:
    """A new token; links with the old one stop working from this commit on."""
    token = _new_token(page)
    await ctx.db.flush()
    await _audit(ctx, "status_page.token_regenerated", page, [])
    return await _read(ctx, page, token)


async def generate_history(ctx: Context) -> HistoryGenerated:
    """Daily history, for every monitor on the organization's pages, rebuilt from hourly
    rollups where a day's row is missing or disagrees with its hours."""
    org_pages = select(StatusPage).where(StatusPage.org_id == ctx.auth.org_id)
    pages = list(await ctx.db.scalars(org_pages))
    monitor_ids = sorted(
        set(
            await ctx.db.scalars(
                select(StatusPageMonitor.monitor_id).where(
                    StatusPageMonitor.page_id.in_([page.id for page in pages])
                )
            )
        )
    )
    days = max((page.history_days for page in pages), default=90)
    rebuilt = await history.rebuild_days(ctx.db, monitor_ids=monitor_ids, days=days)
    await audit.record(
        ctx, action="status_page.history_generated", resource_type="status_page",
        detail=f"{len(monitor_ids)} monitors, {days} days: {rebuilt} days rebuilt",
    )  # fmt: skip
    return HistoryGenerated(monitors=len(monitor_ids), days=days, rebuilt=rebuilt)


async def list_clients(ctx: Context, *, query: PageQuery) -> Page[PageRead]:
    statement = (
        select(StatusPage)
        .where(StatusPage.org_id == ctx.auth.org_id, StatusPage.kind == CLIENT)
        .order_by(StatusPage.name, StatusPage.id)
    )
    total = await paging.count_of(ctx.db, statement)
    pages = list(await ctx.db.scalars(paging.window(statement, query)))
    return paging.paged(Page[PageRead], await _reads(ctx, pages), total, query)


async def get_client(ctx: Context, *, page_id: int) -> PageRead:
    return (await _reads(ctx, [await client_page(ctx, page_id)]))[0]


async def create_client(ctx: Context, *, data: ClientPageCreate) -> PageWithToken:
    slug = data.slug or slug_of(data.name)
    await _check_slug(ctx, slug, other_than=None)
    page = StatusPage(org_id=ctx.auth.org_id, kind=CLIENT, name=data.name, slug=slug)
    ctx.db.add(page)
    await _flush_slug(ctx.db, slug)
    await _apply(ctx, page, data.model_dump(exclude={"name", "slug"}))
    token = _token_if_needed(page)
    await ctx.db.flush()
    await _audit(ctx, "status_page.created", page, [])
    return await _read(ctx, page, token)


async def update_client(ctx: Context, *, page_id: int, data: ClientPageUpdate) -> PageWithToken:
    page = await client_page(ctx, page_id)
    given = data.model_dump(exclude_unset=True)
    changed: list[str] = []
    for name in ("name", "slug"):
        if name in given and getattr(page, name) != given[name]:
            if name == "slug":
                await _check_slug(ctx, given[name], other_than=page.id)
            setattr(page, name, given[name])
            changed.append(name)
    changed += await _apply(ctx, page, given)
    token = _token_if_needed(page)
    await _flush_slug(ctx.db, page.slug)
    if changed:
        await _audit(ctx, "status_page.updated", page, sorted(changed))
    return await _read(ctx, page, token)


async def delete_client(ctx: Context, *, page_id: int) -> None:
    page = await client_page(ctx, page_id)
    await ctx.db.delete(page)
    await ctx.db.flush()
    await _audit(ctx, "status_page.deleted", page, [])


async def _check_slug(ctx: Context, slug: str, *, other_than: int | None) -> None:
    if slug in RESERVED_SLUGS:
        raise BadRequest(f"body field 'slug': {slug!r} is reserved; choose another")
    statement = select(StatusPage.id).where(
        StatusPage.org_id == ctx.auth.org_id, StatusPage.slug == slug
    )
    if other_than is not None:
        statement = statement.where(StatusPage.id != other_than)
    if await ctx.db.scalar(statement) is not None:
        raise Conflict(f"A status page with the slug {slug!r} already exists")


async def _flush_slug(db: AsyncSession, slug: str) -> None:
    """Flush; a page given the same slug since the check is the same 409."""
    try:
        await db.flush()
    except IntegrityError as exc:
        raise Conflict(f"A status page with the slug {slug!r} already exists") from exc


async def _audit(ctx: Context, action: str, page: StatusPage, changed: list[str]) -> None:
    detail = f"{page.name!r}" + (f": {', '.join(changed)}" if changed else "")
    await audit.record(
        ctx, action=action, resource_type="status_page", resource_id=page.id, detail=detail
    )

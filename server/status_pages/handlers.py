"""HTTP handlers for /status-pages and /public/status: parse -> call service -> serialize."""

from __future__ import annotations

from aiohttp import web

from server.http.routing import Call
from server.status_pages import announcements, public, subscribers
from server.status_pages import pages as public_pages
from server.status_pages import service as pages
from server.status_pages.service import page_path
from shared.api.common import Page
from shared.api.status_pages import (
    AnnouncementRead,
    HistoryGenerated,
    PageRead,
    PageWithToken,
    SubscribeAccepted,
    SubscriberRead,
)


async def get_global(call: Call) -> PageRead:
    """GET /status-pages/global"""
    return await pages.get_global(call.ctx)


async def put_global(call: Call) -> PageWithToken:
    """PUT /status-pages/global"""
    return await pages.put_global(call.ctx, data=call.body)


async def regenerate_global_token(call: Call) -> PageWithToken:
    """POST /status-pages/global/regenerate-token"""
    return await pages.regenerate_global_token(call.ctx)


async def generate_history(call: Call) -> HistoryGenerated:
    """POST /status-pages/global/generate-history"""
    return await pages.generate_history(call.ctx)


async def list_clients(call: Call) -> Page[PageRead]:
    """GET /status-pages/clients"""
    return await pages.list_clients(call.ctx, query=call.query)


async def create_client(call: Call) -> PageWithToken:
    """POST /status-pages/clients"""
    return await pages.create_client(call.ctx, data=call.body)


async def get_client(call: Call) -> PageRead:
    """GET /status-pages/clients/{id}"""
    return await pages.get_client(call.ctx, page_id=call.path["id"])


async def update_client(call: Call) -> PageWithToken:
    """PATCH /status-pages/clients/{id}"""
    return await pages.update_client(call.ctx, page_id=call.path["id"], data=call.body)


async def delete_client(call: Call) -> None:
    """DELETE /status-pages/clients/{id}"""
    await pages.delete_client(call.ctx, page_id=call.path["id"])


async def regenerate_client_token(call: Call) -> PageWithToken:
    """POST /status-pages/clients/{id}/regenerate-token"""
    return await pages.regenerate_client_token(call.ctx, page_id=call.path["id"])


async def list_announcements(call: Call) -> Page[AnnouncementRead]:
    """GET /status-pages/announcements"""
    return await announcements.list_announcements(call.ctx, query=call.query)


async def create_announcement(call: Call) -> AnnouncementRead:
    """POST /status-pages/announcements"""
    return await announcements.create_announcement(call.ctx, data=call.body)


async def get_announcement(call: Call) -> AnnouncementRead:
    """GET /status-pages/announcements/{id}"""
    return await announcements.get_announcement(call.ctx, announcement_id=call.path["id"])


async def update_announcement(call: Call) -> AnnouncementRead:
    """PATCH /status-pages/announcements/{id}"""
    return await announcements.update_announcement(
        call.ctx, announcement_id=call.path["id"], data=call.body
    )


async def delete_announcement(call: Call) -> None:
    """DELETE /status-pages/announcements/{id}"""
    await announcements.delete_announcement(call.ctx, announcement_id=call.path["id"])


async def list_subscribers(call: Call) -> Page[SubscriberRead]:
    """GET /status-pages/subscribers"""
    query = call.query
    page = await pages.page_named(call.ctx, query.status_page) if query.status_page else None
    return await subscribers.list_subscribers(call.ctx, query=query, page=page)


async def remove_subscriber(call: Call) -> None:
    """DELETE /status-pages/subscribers/{id}"""
    await subscribers.remove_subscriber(call.ctx, subscriber_id=call.path["id"])


async def _found(call: Call) -> public.Found:
    return await public.find_page(
        call.db, org_slug=call.path["org_slug"], client_slug=call.path.get("client_slug"),
        token=call.query.token,
    )  # fmt: skip


async def public_global_page(call: Call) -> web.Response:
    """GET /public/status/{org_slug}"""
    return await public_pages.public_json(call)


async def public_client_page(call: Call) -> web.Response:
    """GET /public/status/{org_slug}/{client_slug}"""
    return await public_pages.public_json(call)


async def subscribe_global(call: Call) -> SubscribeAccepted:
    """POST /public/status/{org_slug}/subscribe"""
    return await _subscribe(call)


async def subscribe_client(call: Call) -> SubscribeAccepted:
    """POST /public/status/{org_slug}/{client_slug}/subscribe"""
    return await _subscribe(call)


async def _subscribe(call: Call) -> SubscribeAccepted:
    found = await _found(call)
    url = call.settings.resolved_public_url + page_path(found.org.slug, found.page)
    return await subscribers.subscribe(
        call.ctx, page=found.page, email=call.body.email, page_url=url
    )

"""HTTP handlers for /organization and /settings: parse -> call service -> serialize."""

from __future__ import annotations

from aiohttp import web

from server.http.routing import Call
from server.http.uploads import IMAGES_AND_SVG, image_response, read_upload
from server.orgs import service as orgs
from shared.api.orgs import OrganizationRead, SettingsRead


async def get_organization(call: Call) -> OrganizationRead:
    """GET /organization"""
    return await orgs.get_organization(call.db, org_id=call.auth.org_id)


async def update_organization(call: Call) -> OrganizationRead:
    """PATCH /organization"""
    return await orgs.update_organization(call.ctx, data=call.body)


async def get_logo(call: Call) -> web.Response:
    """GET /organization/logo"""
    data, content_type = await orgs.logo_of(call.db, org_id=call.auth.org_id)
    return image_response(data, content_type)


async def put_logo(call: Call) -> OrganizationRead:
    """PUT /organization/logo"""
    upload = await read_upload(
        call.request, limit=call.settings.max_upload_bytes, allowed=IMAGES_AND_SVG
    )
    return await orgs.set_logo(call.ctx, upload=upload)


async def delete_logo(call: Call) -> None:
    """DELETE /organization/logo"""
    await orgs.remove_logo(call.ctx)


async def get_settings(call: Call) -> SettingsRead:
    """GET /settings"""
    return await orgs.get_settings(call.db, org_id=call.auth.org_id)


async def update_settings(call: Call) -> SettingsRead:
    """PATCH /settings"""
    return await orgs.update_settings(call.ctx, data=call.body)

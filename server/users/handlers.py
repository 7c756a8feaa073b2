"""HTTP handlers for /users: parse -> call service -> serialize."""

from __future__ import annotations

from aiohttp import web

from server.http.routing import Call
from server.http.uploads import RASTER_IMAGES, image_response, read_upload
from server.orgs.models import Organization
from server.users import email_change, invitations, ssh_keys
from server.users import service as users
from shared.api.auth import OrganizationSummary
from shared.api.common import Message, Page, Role
from shared.api.users import InvitationRead, MemberRead, ProfileRead, SshKeyRead


async def list_members(call: Call) -> Page[MemberRead]:
    """GET /users"""
    return await users.list_members(call.db, org_id=call.auth.org_id, query=call.query)


async def create_member(call: Call) -> MemberRead:
    """POST /users"""
    return await users.create_member(call.ctx, data=call.body)


async def get_profile(call: Call) -> ProfileRead:
    """GET /users/me"""
    return await users.get_profile(call.ctx)


async def update_profile(call: Call) -> ProfileRead:
    """PATCH /users/me"""
    return await users.update_profile(call.ctx, data=call.body)


async def put_avatar(call: Call) -> ProfileRead:
    """PUT /users/me/avatar"""
    upload = await read_upload(
        call.request, limit=call.settings.max_upload_bytes, allowed=RASTER_IMAGES
    )
    return await users.set_avatar(call.ctx, upload=upload)


async def delete_avatar(call: Call) -> None:
    """DELETE /users/me/avatar"""
    await users.remove_avatar(call.ctx)


async def list_ssh_keys(call: Call) -> list[SshKeyRead]:
    """GET /users/me/ssh-keys"""
    return await ssh_keys.list_keys(call.ctx)


async def add_ssh_key(call: Call) -> SshKeyRead:
    """POST /users/me/ssh-keys"""
    return await ssh_keys.add_key(call.ctx, call.body)


async def delete_ssh_key(call: Call) -> None:
    """DELETE /users/me/ssh-keys/{id}"""
    await ssh_keys.delete_key(call.ctx, call.path["id"])


async def list_invitations(call: Call) -> list[InvitationRead]:
    """GET /users/invitations"""
    return await invitations.list_invitations(call.db, org_id=call.auth.org_id)


async def create_invitation(call: Call) -> InvitationRead:
    """POST /users/invitations"""
    return await invitations.create_invitation(call.ctx, data=call.body)


async def accept_invitation(call: Call) -> OrganizationSummary:
    """POST /users/invitations/accept"""
    membership = await users.join_by_invitation_token(
        call.ctx, token=call.body.token, user_id=call.auth.user_id, email=call.auth.email
    )
    org = await call.db.get(Organization, membership.org_id)
    assert org is not None
    return OrganizationSummary(id=org.id, name=org.name, slug=org.slug, role=Role(membership.role))


async def revoke_invitation(call: Call) -> None:
    """DELETE /users/invitations/{id}"""
    await invitations.revoke_invitation(call.ctx, invitation_id=call.path["id"])


async def resend_invitation(call: Call) -> InvitationRead:
    """POST /users/invitations/{id}/resend"""
    return await invitations.resend_invitation(call.ctx, invitation_id=call.path["id"])


async def get_member(call: Call) -> MemberRead:
    """GET /users/{id}"""
    return await users.get_member(call.db, org_id=call.auth.org_id, user_id=call.path["id"])


async def update_member(call: Call) -> MemberRead:
    """PATCH /users/{id}"""
    return await users.update_member(call.ctx, user_id=call.path["id"], data=call.body)


async def remove_member(call: Call) -> None:
    """DELETE /users/{id}"""
    await users.remove_member(call.ctx, user_id=call.path["id"])


async def get_avatar(call: Call) -> web.Response:
    """GET /users/{id}/avatar"""
    data, content_type = await users.avatar_of(
        call.db, org_id=call.auth.org_id, user_id=call.path["id"]
    )
    return image_response(data, content_type)


async def confirm_email(call: Call) -> Message:
    """POST /auth/email/confirm"""
    return await email_change.confirm(call.ctx, call.body.token)

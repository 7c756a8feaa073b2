"""Read-only impersonation: a platform admin looks at an organization as its members do.

1. Only an admin signed in interactively (an access token, which has a session) may ask;
   the token is tied to that session, so signing out ends it too.
2. The token is an access JWT like any other, for the target organization, with the claim
   `imp` (the admin's user id) and a lifetime of at most 30 minutes; it is never refreshed.
3. Authentication (server/auth/principal.py) admits it without a membership; routing
   (server/http/routing.py) refuses every write with 403 and every /admin route.
4. It is audited in both organizations, the admin's own and the target, with the reason.
"""

from __future__ import annotations

from datetime import timedelta

from server.admin.service import org_and_plan
from server.audit import service as audit
from server.auth.principal import ACCESS, IMPERSONATED_BY
from server.auth.tokens import issue_jwt
from server.db.base import utcnow
from server.http.errors import BadRequest, Conflict
from server.service_context import Context
from shared.api.admin import ImpersonationCreate, ImpersonationToken


async def impersonate(
    ctx: Context, *, org_id: int, data: ImpersonationCreate
) -> ImpersonationToken:
    admin = ctx.auth
    if admin.session_id is None:
        raise BadRequest("Impersonation needs an interactive sign-in, not an API key")
    org, _ = await org_and_plan(ctx.db, org_id)
    if org.status != "active":
        raise Conflict("This organization is suspended; reactivate it to look inside")
    ttl = timedelta(minutes=data.minutes)
    expires_at = utcnow() + ttl
    token = issue_jwt(
        ctx.keys.jwt_secret,
        subject=admin.user_id,
        purpose=ACCESS,
        ttl=ttl,
        org=org.id,
        sid=admin.session_id,
        **{IMPERSONATED_BY: admin.user_id},
    )
    detail = (
        f"{admin.email} impersonates {org.slug} read-only for {data.minutes} min: {data.reason}"
    )
    for in_org in (admin.org_id, org.id):
        await audit.record(
            ctx, action="admin.impersonation.started", resource_type="organization",
            resource_id=org.id, org_id=in_org, detail=detail,
        )  # fmt: skip
    return ImpersonationToken(
        access_token=token, organization_id=org.id, expires_at=expires_at.replace(microsecond=0)
    )

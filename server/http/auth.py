"""Authentication and rate limiting middleware for `/api/v1`.

The caller is identified once, before the rate limit, so the limit applies per user (or
API key) when a valid token is given and per client IP otherwise (API contract,
Conventions). Routes read the result through `routing.authenticated`.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server.context import RATE_LIMITER, SESSIONS, SETTINGS
from server.http.errors import ApiError, TooManyRequests, json_error
from server.http.routing import (
    AUTH_ERROR_KEY,
    AUTHENTICATOR,
    IN_LINE,
    PRINCIPAL_KEY,
    SESSION_KEY,
    UNLIMITED,
    bearer_token,
    user_agent,
)
from server.service_context import write_audit
from shared.api.common import API_PREFIX

log = logging.getLogger("upmetr.http")
# The X-RateLimit-* headers of this request. The middleware adds them to the response it gets
# back, but a streamed response has sent its headers by then, so it must copy them itself.
RATE_LIMIT_HEADERS = web.RequestKey("rate_limit_headers", dict[str, str])


@web.middleware
async def auth_and_rate_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX + "/"):
        response: web.StreamResponse = await handler(request)
        return response
    resource = request.match_info.route.resource
    line = request.app.get(IN_LINE, {}).get(resource.canonical) if resource else None
    if line is None:
        return await _in_session(request, handler)
    async with line:
        return await _in_session(request, handler)


async def _in_session(request: web.Request, handler: Any) -> web.StreamResponse:
    async with request.app[SESSIONS]() as db:
        request[SESSION_KEY] = db
        return await _limited(request, handler, db)


async def _limited(request: web.Request, handler: Any, db: AsyncSession) -> web.StreamResponse:
    app = request.app
    token = bearer_token(request)
    if token is not None:
        try:
            request[PRINCIPAL_KEY] = await app[AUTHENTICATOR](request, db, token)
        except ApiError as exc:
            request[AUTH_ERROR_KEY] = exc
    principal = request.get(PRINCIPAL_KEY)
    resource = request.match_info.route.resource
    if resource is not None and resource.canonical in app.get(UNLIMITED, ()):
        return await handler(request)
    settings = app[SETTINGS]
    if principal is not None:
        key, limit = principal.rate_limit_key, settings.rate_limit_user
    else:
        key, limit = f"ip:{request.remote}", settings.rate_limit_anon
    decision = await app[RATE_LIMITER].hit(limit, key)
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_at),
    }
    request[RATE_LIMIT_HEADERS] = headers
    if not decision.allowed:
        await audit_rate_limited(request, db, key, principal)
        await db.commit()
        retry_after = decision.retry_after
        # This middleware sits outside error_middleware, so it answers itself; an ApiError
        # raised from here would reach aiohttp as an unhandled exception (a bare 500).
        limited = TooManyRequests(
            f"Rate limit exceeded ({limit}); retry in {retry_after} s", retry_after=retry_after
        )
        return _error_response(_with_headers(limited, headers))
    try:
        response = await handler(request)
    except ApiError as exc:
        return _error_response(_with_headers(exc, headers))
    if not response.prepared:
        response.headers.update(headers)
    return response


def _with_headers(exc: ApiError, headers: dict[str, str]) -> ApiError:
    exc.headers = {**headers, **exc.headers}
    return exc


def _error_response(exc: ApiError) -> web.Response:
    response = json_error(exc.status, exc.detail)
    response.headers.update(exc.headers)
    return response


async def audit_rate_limited(
    request: web.Request, db: AsyncSession, key: str, principal: Any
) -> None:
    """One audit entry per limited caller per minute, so a flood cannot flood the log; it
    is written in `db`'s transaction, for the caller to commit.

    The app's own limiter remembers who was audited: per application, and it forgets.
    """
    first = await request.app[RATE_LIMITER].hit("1/minute", f"audited:{key}")
    if not first.allowed:
        return
    entry = {
        "action": "rate_limit.exceeded",
        "status": "failed",
        "org_id": principal.org_id if principal else None,
        "user_id": principal.user_id if principal else None,
        "user_email": principal.email if principal else None,
        "ip": request.remote,
        "user_agent": user_agent(request),
        "detail": f"{request.method} {request.path}",
    }
    await write_audit(db, [entry])

"""Authentication and rate limiting middleware for `/api/v1`.

The caller is identified once, before the rate limit, so the limit applies per user (or
API key) when a valid token is given and per client IP otherwise (API contract,
Conventions). Routes read the result through `routing.authenticated`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from server.context import RATE_LIMITER, SESSIONS, SETTINGS
from server.http.errors import ApiError, TooManyRequests
from server.http.routing import (
    AUDIT_WRITER,
    AUTH_ERROR_KEY,
    AUTHENTICATOR,
    PRINCIPAL_KEY,
    bearer_token,
)

API_PREFIX = "/api/v1"
log = logging.getLogger("upmetr.http")


@web.middleware
async def auth_and_rate_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX + "/"):
        response: web.StreamResponse = await handler(request)
        return response
    app = request.app
    token = bearer_token(request)
    if token is not None:
        async with app[SESSIONS]() as db:
            try:
                request[PRINCIPAL_KEY] = await app[AUTHENTICATOR](request, db, token)
            except ApiError as exc:
                request[AUTH_ERROR_KEY] = exc
    principal = request.get(PRINCIPAL_KEY)
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
    if not decision.allowed:
        await _audit_rate_limited(request, key, principal)
        retry_after = max(1, decision.reset_at - int(time.time()))
        raise _with_headers(
            TooManyRequests(
                f"Rate limit exceeded ({limit}); retry in {retry_after} s",
                retry_after=retry_after,
            ),
            headers,
        )
    try:
        response = await handler(request)
    except ApiError as exc:
        raise _with_headers(exc, headers) from None
    response.headers.update(headers)
    return response


def _with_headers(exc: ApiError, headers: dict[str, str]) -> ApiError:
    exc.headers = {**headers, **exc.headers}
    return exc


_last_audited: dict[str, float] = {}


async def _audit_rate_limited(request: web.Request, key: str, principal: Any) -> None:
    """One audit entry per limited caller per minute, so a flood cannot flood the log."""
    now = time.monotonic()
    if now - _last_audited.get(key, -60.0) < 60.0:
        return
    _last_audited[key] = now
    entry = {
        "action": "rate_limit.exceeded",
        "status": "failed",
        "org_id": principal.org_id if principal else None,
        "user_id": principal.user_id if principal else None,
        "user_email": principal.email if principal else None,
        "ip": request.remote,
        "user_agent": request.headers.get("User-Agent", "")[:500] or None,
        "detail": f"{request.method} {request.path}",
    }
    async with request.app[SESSIONS]() as db, db.begin():
        await request.app[AUDIT_WRITER](db, [entry])

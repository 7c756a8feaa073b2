"""Failed sign-in throttling, per account and per client IP, on top of the request rate limit.

Only failures count. Once either counter is full every attempt is refused with 429, even
with the right password and whether or not the account exists, so the answer reveals
neither (OWASP Authentication Cheat Sheet, "Protect against automated attacks").
"""

from __future__ import annotations

from limits import parse

from server.context import RATE_LIMITER
from server.http.errors import TooManyRequests
from server.http.routing import Call


def _keys(call: Call, email: str) -> list[str]:
    return [f"login-fail:email:{email.lower()}", f"login-fail:ip:{call.ip}"]


async def check(call: Call, email: str) -> None:
    """429 when this account or this IP has used up its failed attempts."""
    limit = call.settings.login_failure_limit
    limiter = call.request.app[RATE_LIMITER]
    for key in _keys(call, email):
        if not await limiter.test(limit, key):
            # The moving window frees a slot at the latest one window from now.
            retry_after = parse(limit).get_expiry()
            raise TooManyRequests(
                f"Too many failed sign-in attempts; try again in {retry_after} s",
                retry_after=retry_after,
            )


async def failed(call: Call, email: str) -> None:
    limit = call.settings.login_failure_limit
    limiter = call.request.app[RATE_LIMITER]
    for key in _keys(call, email):
        await limiter.hit(limit, key)


async def succeeded(call: Call, email: str) -> None:
    """A correct sign-in forgives the account's earlier failures (not the IP's)."""
    await call.request.app[RATE_LIMITER].clear(
        call.settings.login_failure_limit, _keys(call, email)[0]
    )

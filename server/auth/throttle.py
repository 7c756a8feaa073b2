"""Failed sign-in throttling, per account and per client IP, on top of the request rate limit.

Only failures count. Once either counter is full every attempt is refused with 429, even
with the right password and whether or not the account exists, so the answer reveals
neither (OWASP Authentication Cheat Sheet, "Protect against automated attacks").
"""

from __future__ import annotations

from server.context import RATE_LIMITER
from server.http.errors import TooManyRequests
from server.http.routing import Call


def _buckets(call: Call, email: str) -> list[tuple[str, str]]:
    """(limit, key) per counter. An IP is allowed more, since offices share one address."""
    settings = call.settings
    return [
        (settings.login_failure_limit, f"login-fail:email:{email.lower()}"),
        (settings.login_failure_limit_ip, f"login-fail:ip:{call.ip}"),
    ]


async def check(call: Call, email: str) -> None:
    """429 when this account or this IP has used up its failed attempts."""
    limiter = call.request.app[RATE_LIMITER]
    for limit, key in _buckets(call, email):
        if not await limiter.test(limit, key):
            retry_after = await limiter.seconds_until_free(limit, key)
            raise TooManyRequests(
                f"Too many failed sign-in attempts; try again in {retry_after} s",
                retry_after=retry_after,
            )


async def failed(call: Call, email: str) -> None:
    limiter = call.request.app[RATE_LIMITER]
    for limit, key in _buckets(call, email):
        await limiter.hit(limit, key)


async def succeeded(call: Call, email: str) -> None:
    """A correct sign-in forgives the account's earlier failures (not the IP's)."""
    limit, key = _buckets(call, email)[0]
    await call.request.app[RATE_LIMITER].clear(limit, key)

"""Failed sign-in throttling, per account and per client IP, on top of the request rate limit.

Only failures count. Once either counter is full every attempt is refused with 429, even
with the right password and whether or not the account exists, so the answer reveals
neither (OWASP Authentication Cheat Sheet, "Protect against automated attacks").
"""

from __future__ import annotations

from server.http.errors import TooManyRequests
from server.service_context import Context


def _buckets(ctx: Context, email: str) -> list[tuple[str, str]]:
    """(limit, key) per counter. An IP is allowed more, since offices share one address."""
    settings = ctx.settings
    return [
        (settings.login_failure_limit, f"login-fail:email:{email.lower()}"),
        (settings.login_failure_limit_ip, f"login-fail:ip:{ctx.ip}"),
    ]


async def check(ctx: Context, email: str) -> None:
    """429 when this account or this IP has used up its failed attempts."""
    limiter = ctx.limiter
    for limit, key in _buckets(ctx, email):
        if not await limiter.test(limit, key):
            retry_after = await limiter.seconds_until_free(limit, key)
            raise TooManyRequests(
                f"Too many failed sign-in attempts; try again in {retry_after} s",
                retry_after=retry_after,
            )


async def failed(ctx: Context, email: str) -> None:
    limiter = ctx.limiter
    for limit, key in _buckets(ctx, email):
        await limiter.hit(limit, key)


async def succeeded(ctx: Context, email: str) -> None:
    """A correct sign-in forgives the account's earlier failures (not the IP's)."""
    limit, key = _buckets(ctx, email)[0]
    await ctx.limiter.clear(limit, key)

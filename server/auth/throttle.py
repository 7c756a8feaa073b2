"""Failed sign-in throttling that cannot be turned against a user, on top of the request
rate limit (OWASP Authentication Cheat Sheet, "Account Lockout" and "Device Cookies").

1. Per client ip: after `login_failure_limit_ip` failures in its window that ip is refused
   (429) until the window frees. A guesser on one address is stopped; nobody else is.
2. Per account, from any ip: after `login_failure_limit`'s number of failures in its window,
   each further failure doubles the wait before the account hears another attempt (1 s,
   2 s, 4 s, ... at most MAX_WAIT_SECONDS), answered 429 with Retry-After. Never a lock:
   many addresses guessing slowly cannot keep the account shut.
3. A device that signed in to the account before (an unrevoked session from the same ip
   within KNOWN_DEVICE_DAYS) skips step 2, so its owner is not slowed by others' guesses.
4. Refusals do not depend on the password or on whether the account exists, so a 429 tells
   neither; a correct sign-in forgives the account's failures (not the ip's).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.auth.models import AuthSession
from server.http.errors import TooManyRequests
from server.service_context import Context

MAX_WAIT_SECONDS = 60
KNOWN_DEVICE_DAYS = 30


def _ip_limit(ctx: Context) -> tuple[str, str]:
    return ctx.settings.login_failure_limit_ip, f"login-fail:ip:{ctx.ip}"


def _account(ctx: Context, email: str) -> tuple[int, str, str]:
    """(failures before waits begin, window, key) of the account's failure count."""
    amount, _, window = ctx.settings.login_failure_limit.partition("/")
    return int(amount), window, f"login-fail:email:{email.lower()}"


def _wait(failures: int, free_failures: int, key: str) -> tuple[str, str]:
    """(limit, key) of the account's wait after `failures`: one attempt per wait."""
    seconds = min(MAX_WAIT_SECONDS, 2 ** (failures - free_failures))
    return f"1/{seconds}second", f"login-wait:{key}"


async def _known_device(ctx: Context, user_id: int | None) -> bool:
    if user_id is None or ctx.ip is None:
        return False
    since = datetime.now(UTC) - timedelta(days=KNOWN_DEVICE_DAYS)
    found = await ctx.db.scalar(
        select(AuthSession.id)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.ip == ctx.ip,
            AuthSession.revoked_at.is_(None),
            AuthSession.created_at >= since,
        )
        .limit(1)
    )
    return found is not None


def _refuse(retry_after: int) -> TooManyRequests:
    return TooManyRequests(
        f"Too many failed sign-in attempts; try again in {retry_after} s", retry_after=retry_after
    )


async def check(ctx: Context, email: str, user_id: int | None = None) -> None:
    """429 when this ip has used up its failures, or the account's wait has not passed."""
    limiter = ctx.limiter
    limit, key = _ip_limit(ctx)
    if not await limiter.test(limit, key):
        raise _refuse(await limiter.seconds_until_free(limit, key))
    free, window, key = _account(ctx, email)
    failures = await limiter.count(window, key)
    if failures < free or await _known_device(ctx, user_id):
        return
    wait, wait_key = _wait(failures, free, key)
    if not await limiter.test(wait, wait_key):
        raise _refuse(await limiter.seconds_until_free(wait, wait_key))


async def failed(ctx: Context, email: str) -> None:
    limiter = ctx.limiter
    await limiter.hit(*_ip_limit(ctx))
    free, window, key = _account(ctx, email)
    await limiter.record(window, key)
    failures = await limiter.count(window, key)
    if failures >= free:
        await limiter.hit(*_wait(failures, free, key))


async def succeeded(ctx: Context, email: str) -> None:
    _, window, key = _account(ctx, email)
    await ctx.limiter.forget(window, key)

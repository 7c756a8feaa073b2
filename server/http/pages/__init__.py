"""Small server-rendered HTML pages outside /api/v1: the home page and where emailed links
land. No JavaScript, no third-party request: a stylesheet from /static and the system fonts.

Templates are `string.Template` files beside this module. Every value is escaped
(`html.escape`, quotes included) unless it is `Html` rendered here from a template, so a
token or a message from a request never becomes markup.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template

from aiohttp import web

from server.context import RATE_LIMITER, SETTINGS
from server.http.auth import audit_rate_limited
from server.http.routing import Call

PAGES_DIR = Path(__file__).parent
# The pages hold one-time tokens in their URL and forms: never sent on as a Referer, never
# cached, never framed (clickjacking a reset form), and forms post only back here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class Html(str):
    """Markup rendered from a template here: inserted into another template as it is."""


@cache
def _template(name: str) -> Template:
    return Template((PAGES_DIR / f"{name}.html").read_text(encoding="utf-8"))


def fragment(name: str, **values: str | Html) -> Html:
    """The template `name` with every value escaped, except `Html` from another template."""
    escaped = {
        key: value if isinstance(value, Html) else html.escape(value, quote=True)
        for key, value in values.items()
    }
    return Html(_template(name).substitute(escaped))


def page(
    title: str, body: Html, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=fragment("layout", title=title, body=body),
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def public_url(call: Call) -> str:
    return call.settings.resolved_public_url


async def rate_limited(call: Call) -> web.Response | None:
    """A 429 page when this client is over the anonymous rate limit, else None.

    These pages are outside /api/v1, which the rate limit middleware covers; they take from
    the same per-IP budget as anonymous API calls, so a token cannot be guessed faster here.
    The first refusal per client and minute is audited, as the middleware does.
    """
    request = call.request
    limiter, limit = request.app[RATE_LIMITER], request.app[SETTINGS].rate_limit_anon
    key = f"ip:{request.remote}"
    decision = await limiter.hit(limit, key)
    if decision.allowed:
        return None
    await audit_rate_limited(request, call.db, key, None)  # committed with the 429 page
    retry_after = decision.retry_after
    message = f"Too many requests from your address; try again in {retry_after} s."
    return page(
        "Too many requests",
        fragment("error", message=message),
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


async def home(call: Call) -> web.Response:
    """GET /: what this server is, with links to the API docs and how to open the console."""
    return page("Upmetr server", fragment("home", url=public_url(call)))

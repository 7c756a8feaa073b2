"""The public pages outside /api/v1: `/status/{org}[/{client}]` as HTML, its `.rss`, `.atom`
and `.ics` feeds, `/badge/{monitor_id}.svg`, the subscribe form, and where subscription
mails' links land (`/status-subscription/confirm` and `/unsubscribe`).

What a visitor reads comes from the page cache (server/status_pages/cache.py) when it is
there: rendered once per page and token, sent gzipped to clients that take it, with an
ETag (a 304 when it did not change) and a short public max-age (private for token pages).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from server.db.base import utcnow
from server.http.errors import ApiError, BadRequest, NotFound, Unauthorized
from server.http.pages import rate_limited
from server.http.routing import Call
from server.status_pages import badges, feeds, public, render, subscribers
from server.status_pages.cache import Rendered, rendered
from server.status_pages.service import page_path
from shared.api.status_pages import PublicStatus, PublicStatusPage, SubscribeRequest

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
SVG = "image/svg+xml"
MAX_AGE = 30
# No script at all, styles inline in the page, images from here; forms post only here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
NO_STORE = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
BADGE_TYPES = ("status", "uptime", "response")
LINK_GONE = "It has expired or the subscription was removed. Subscribe again from the status page."
CONFIRMED = "will be emailed of incidents and announcements. Every email has a link to unsubscribe."


def _token(call: Call) -> str | None:
    token = call.request.query.get("token")
    return token[:200] if token else None


def _slugs(call: Call) -> tuple[str, str | None]:
    return call.path["org_slug"], call.path.get("client_slug")


async def _cached(
    call: Call,
    key: tuple[object, ...],
    make: Callable[[public.Found], Awaitable[tuple[bytes, str]]],
    *,
    html_errors: bool = True,
) -> web.Response:
    """The cached answer for `key`, else `make` renders it (after the page's checks). A
    refusal is a small HTML page, or raised for the API's JSON error (`html_errors`)."""
    cache = call.ctx.shared.page_cache
    token = _token(call)
    org_slug, client_slug = _slugs(call)

    async def render_now() -> Rendered:
        found = await public.find_page(
            call.db, org_slug=org_slug, client_slug=client_slug, token=token
        )
        body, content_type = await make(found)
        return rendered(found.org.id, body, content_type, cache.ttl)

    try:
        entry = await cache.through((*key, token), render_now)
    except ApiError as error:
        if not html_errors:
            raise
        return _refused(error)
    return _send(call.request, entry, private=token is not None)


def _send(request: web.Request, entry: Rendered, *, private: bool) -> web.Response:
    headers = {
        **SECURITY_HEADERS,
        "ETag": entry.etag,
        "Cache-Control": f"{'private' if private else 'public'}, max-age={MAX_AGE}",
        "Vary": "Accept-Encoding",
    }
    if entry.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = entry.gzipped
    else:
        body = entry.body
    return web.Response(body=body, headers={**headers, "Content-Type": entry.content_type})


def _refused(error: ApiError) -> web.Response:
    titles = {401: "This page needs its token", 403: public.SUSPENDED}
    title = titles.get(error.status, "Status page not found")
    return _message(title, error.detail, status=error.status)


async def _page_of(call: Call, found: public.Found) -> PublicStatusPage:
    return await public.build(call.ctx, found, now=utcnow())


def _links(call: Call, found: public.Found) -> render.PageLinks:
    path = page_path(found.org.slug, found.page)
    return render.PageLinks(
        page=path, rss=f"{path}.rss", atom=f"{path}.atom", ics=f"{path}.ics",
        subscribe=f"{path}/subscribe", badge_prefix=f"{path}/badge/",
        logo=f"/status/{found.org.slug}/logo" if found.whitelabel and found.has_logo else None,
        company=found.page.logo_url, token=_token(call),
    )  # fmt: skip


async def status_page(call: Call) -> web.Response:
    """GET /status/{org_slug}[/{client_slug}]: the page, readable without JavaScript."""

    async def make(found: public.Found) -> tuple[bytes, str]:
        page = await _page_of(call, found)
        html = render.render_page(page, links=_links(call, found), now=page.generated_at)
        return html.encode(), HTML

    return await _cached(call, ("html", *_slugs(call)), make)


async def public_json(call: Call) -> web.Response:
    """GET /api/v1/public/status/{org_slug}[/{client_slug}]: the page as JSON, cached as
    the HTML is."""

    async def make(found: public.Found) -> tuple[bytes, str]:
        return (await _page_of(call, found)).model_dump_json().encode(), JSON

    return await _cached(call, ("json", *_slugs(call)), make, html_errors=False)


def _feed(kind: str) -> Callable[[Call], Awaitable[web.Response]]:
    async def feed(call: Call) -> web.Response:
        async def make(found: public.Found) -> tuple[bytes, str]:
            page = await _page_of(call, found)
            base = call.settings.resolved_public_url
            page_url = render.with_token(base + page_path(found.org.slug, found.page), _token(call))
            self_url = render.with_token(base + call.request.path, _token(call))
            if kind == "rss":
                return feeds.rss(page, page_url=page_url, self_url=self_url), feeds.RSS_MEDIA_TYPE
            if kind == "atom":
                return feeds.atom(page, page_url=page_url, self_url=self_url), feeds.ATOM_MEDIA_TYPE
            host = urlsplit(base).hostname or "upmetr"
            return feeds.ics(page, prodid_host=host), feeds.ICS_MEDIA_TYPE

        return await _cached(call, (kind, *_slugs(call)), make)

    feed.__name__ = f"status_page_{kind}"
    return feed


status_page_rss = _feed("rss")
status_page_atom = _feed("atom")
status_page_ics = _feed("ics")


async def badge(call: Call) -> web.Response:
    """GET /status/{org_slug}[/{client_slug}]/badge/{monitor_id}.svg[?type=&days=]"""
    monitor_id = call.path["monitor_id"]
    kind = call.request.query.get("type", "status")
    days_text = call.request.query.get("days", "30")
    if kind not in BADGE_TYPES or not days_text.isdigit() or not 1 <= int(days_text) <= 365:
        return _refused(BadRequest("type is status, uptime or response; days is 1 to 365"))
    days = int(days_text)

    async def make(found: public.Found) -> tuple[bytes, str]:
        shown = await public.badge_facts(call.ctx, found, monitor_id=monitor_id, days=days)
        if (
            shown is None
            or (kind == "uptime" and not found.page.show_uptime)
            or (kind == "response" and not found.page.show_response_times)
        ):
            raise NotFound("No such monitor on this page")
        name, status, uptime_pct, avg_ms = shown
        if kind == "uptime":
            svg = badges.uptime_badge(name, uptime_pct, days)
        elif kind == "response":
            svg = badges.response_badge(name, avg_ms)
        else:
            svg = badges.status_badge(name, PublicStatus(status))
        return svg.encode(), SVG

    return await _cached(call, ("badge", *_slugs(call), monitor_id, kind, days), make)


async def logo(call: Call) -> web.Response:
    """GET /status/{org_slug}/logo: the organization's uploaded logo, for whitelabel pages."""
    data, content_type = await public.logo_of(call.db, org_slug=call.path["org_slug"])
    if data is None:
        return _refused(NotFound("No logo"))
    headers = {**SECURITY_HEADERS, "Cache-Control": f"public, max-age={MAX_AGE}"}
    return web.Response(body=data, content_type=content_type, headers=headers)


def _message(
    title: str, text: str, *, status: int = 200, form: render.MessageForm | None = None
) -> web.Response:
    page = render.render_message(title, text, form=form, now=utcnow())
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8",
                        headers=NO_STORE)  # fmt: skip


async def subscribe_form(call: Call) -> web.Response:
    """POST /status/{org_slug}[/{client_slug}]/subscribe: the page's form (email, token)."""
    if (limited := await rate_limited(call)) is not None:
        return limited
    form = await call.request.post()
    org_slug, client_slug = _slugs(call)
    token = form.get("token") if isinstance(form.get("token"), str) else None
    try:
        found = await public.find_page(
            call.db,
            org_slug=org_slug,
            client_slug=client_slug,
            token=token,  # type: ignore[arg-type]
        )
    except ApiError as error:
        return _refused(error)
    try:
        email = SubscribeRequest.model_validate({"email": form.get("email")}).email
    except ValueError:
        return _message("That address does not work", "Enter an email address like "
                        "name@example.com, and send the form again.", status=400)  # fmt: skip
    url = call.settings.resolved_public_url + page_path(found.org.slug, found.page)
    accepted = await subscribers.subscribe(call.ctx, page=found.page, email=email, page_url=url)
    return _message("Check your inbox", accepted.detail, status=202)


def _link_token(call: Call, values: object) -> str:
    token = getattr(values, "get", lambda _: None)("token")
    if not isinstance(token, str) or not 0 < len(token) <= 4096:
        token = call.request.query.get("token", "")
    return token[:4096]


async def confirm_form(call: Call) -> web.Response:
    """GET /status-subscription/confirm?token=: one button that confirms (a POST)."""
    token = _link_token(call, None)
    form = render.MessageForm(action="/status-subscription/confirm", button="Confirm",
                              fields={"token": token})  # fmt: skip
    return _message("Confirm your subscription", "Press the button to start receiving "
                    "this status page's updates by email.", form=form)  # fmt: skip


async def confirm(call: Call) -> web.Response:
    """POST /status-subscription/confirm: the subscription starts."""
    if (limited := await rate_limited(call)) is not None:
        return limited
    try:
        subscriber = await subscribers.confirm(
            call.ctx, token=_link_token(call, await call.request.post())
        )
    except Unauthorized:
        return _message("This link does not work", LINK_GONE, status=400)
    return _message("Subscription confirmed", f"{subscriber.email} {CONFIRMED}")


async def unsubscribe_form(call: Call) -> web.Response:
    """GET /status-subscription/unsubscribe?token=: one button that unsubscribes."""
    form = render.MessageForm(action="/status-subscription/unsubscribe", button="Unsubscribe",
                              fields={"token": _link_token(call, None)})  # fmt: skip
    return _message("Unsubscribe", "Press the button to stop these emails.", form=form)


async def unsubscribe(call: Call) -> web.Response:
    """POST /status-subscription/unsubscribe: the form's button, or a mail client's
    one-click unsubscribe (RFC 8058: the token in the URL, `List-Unsubscribe=One-Click`)."""
    if (limited := await rate_limited(call)) is not None:
        return limited
    try:
        email = await subscribers.unsubscribe(
            call.ctx, token=_link_token(call, await call.request.post())
        )
    except Unauthorized:
        return _message("Unsubscribed", "This address was unsubscribed already.")
    return _message("Unsubscribed", f"{email} will not be emailed again.")
